import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { lenient } from '../../../shared/protocol/lenient.js';
import { ACTIONS, CHANGES } from '../../../shared/protocol/catalogue.js';

const answer = z.strictObject({
  rows: z.array(z.strictObject({ id: z.number() })).max(2),
  peer: z.strictObject({ node: z.string() }).nullable().optional(),
  state: z.union([z.strictObject({ up: z.literal(true) }), z.strictObject({ up: z.literal(false), why: z.string() })]),
  byTable: z.record(z.string(), z.strictObject({ n: z.number() })),
});
const newer = {
  rows: [{ id: 1, since: 'x' }],
  peer: { node: 'b', port: 1 },
  state: { up: false, why: 'stopped', code: 3 },
  byTable: { t: { n: 1, bytes: 2 } },
  addedLater: true,
};

describe('lenient', () => {
  it('drops the keys a newer agent added, at every depth', () => {
    expect(answer.safeParse(newer).success).toBe(false);
    expect(lenient(answer).parse(newer)).toEqual({
      rows: [{ id: 1 }],
      peer: { node: 'b' },
      state: { up: false, why: 'stopped' },
      byTable: { t: { n: 1 } },
    });
  });

  it('still refuses a missing or mistyped field, and keeps the checks', () => {
    const l = lenient(answer);
    expect(l.safeParse({ ...newer, rows: [{ id: 1 }, { id: 2 }, { id: 3 }] }).success).toBe(false);
    expect(l.safeParse({ ...newer, peer: { node: 1 } }).success).toBe(false);
    expect(l.safeParse({ ...newer, state: { up: false } }).success).toBe(false);
    const { byTable: _, ...missing } = newer;
    expect(l.safeParse(missing).success).toBe(false);
  });

  it('is made once per schema, and leaves the declared schema strict', () => {
    expect(lenient(answer)).toBe(lenient(answer));
    expect(answer.safeParse(newer).success).toBe(false);
  });

  it('accepts every catalogue result with one unknown key added to its top-level object', () => {
    for (const d of [...ACTIONS, ...CHANGES.flatMap((c) => [c.check, c.apply])]) {
      const def = d.result._zod.def as { type: string; catchall?: { _zod: { def: { type: string } } } };
      if (def.type !== 'object' || def.catchall?._zod.def.type !== 'never') continue;
      const issues = lenient(d.result).safeParse({ addedLater: 1 }).error?.issues ?? [];
      expect(
        issues.some((i) => i.code === 'unrecognized_keys'),
        d.name,
      ).toBe(false);
    }
  });
});
