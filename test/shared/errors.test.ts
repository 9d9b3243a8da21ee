import { describe, expect, it } from 'vitest';
import { PgduplexError, toPgduplexError } from '../../shared/errors.js';

describe('PgduplexError', () => {
  it('crosses the wire as code, message and hint only', () => {
    const e = new PgduplexError('PG_UNREACHABLE', 'down', { hint: 'start it', cause: new Error('secret detail') });
    const wire = JSON.parse(JSON.stringify(e)) as unknown;
    expect(wire).toEqual({ code: 'PG_UNREACHABLE', message: 'down', hint: 'start it' });
    const back = PgduplexError.fromJSON(wire);
    expect(back.code).toBe('PG_UNREACHABLE');
    expect(back.hint).toBe('start it');
  });

  it('does not trust an unknown code from the wire', () => {
    expect(PgduplexError.fromJSON({ code: 'ROOT_PLEASE', message: 'x' }).code).toBe('INTERNAL');
    expect(PgduplexError.fromJSON({ code: '__proto__', message: 'x' }).code).toBe('INTERNAL');
    expect(PgduplexError.fromJSON('nonsense').code).toBe('INTERNAL');
    // A newer peer's code keeps its words, so a mixed pair still says what happened.
    expect(PgduplexError.fromJSON({ code: 'ROOT_PLEASE', message: 'x', hint: 'y' })).toMatchObject({
      message: 'x (ROOT_PLEASE, from a newer pgduplex)',
      hint: 'y',
    });
  });

  it('wraps foreign errors', () => {
    expect(toPgduplexError(new TypeError('boom')).code).toBe('INTERNAL');
  });
});
