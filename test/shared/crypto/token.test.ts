import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../../shared/crypto/fingerprint.js';
import { formatToken, newToken, parseToken } from '../../../shared/crypto/token.js';

describe('pairing tokens', () => {
  const fp = fingerprintOf(new Uint8Array(32).fill(1));

  it('round-trip through their printed form, whatever the case or spacing', () => {
    const t = newToken(fp);
    const text = formatToken(t);
    expect(text).toMatch(/^PGDX1(-[A-Z2-7]{1,6})+$/);
    const back = parseToken(` ${text.toLowerCase()} `);
    expect(back.fingerprint).toBe(fp);
    expect(Buffer.from(back.secret).equals(Buffer.from(t.secret))).toBe(true);
  });

  it('carry 128 fresh bits each time', () => {
    expect(newToken(fp).secret).toHaveLength(16);
    expect(formatToken(newToken(fp))).not.toBe(formatToken(newToken(fp)));
  });

  it.each([
    ['', 'does not start with PGDX1'],
    ['PGDX1-ABC', 'characters after PGDX1'],
    [`PGDX1-${'A'.repeat(20)}${'1'.repeat(26)}`, 'not in a pgduplex token'],
  ])('rejects %j with a clear reason', (text, why) => {
    expect(() => parseToken(text)).toThrow(why);
  });
});
