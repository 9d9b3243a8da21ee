import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { confValue, parseConf, type ConfEntry } from '../../../agent/postgres/conf-parse.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, textInput } from '../../fuzz/mutate.js';

type Line = { text: string; entry?: Omit<ConfEntry, 'line'> };

const blank = fc.constantFrom('', '   ', '\t');
const space = fc.constantFrom('', ' ', '  ', '\t');
const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,20}$/);
const bare = fc.stringMatching(/^[A-Za-z0-9_.:/*-]{1,16}$/);
/** A quoted value with its quotes written as '' or \' and backslashes as \\. */
const quoted = fc
  .tuple(
    fc.string({ maxLength: 16 }).filter((s) => !/[\r\n]/.test(s)),
    fc.boolean(),
  )
  .map(([v, doubled]) => ({
    value: v,
    text: `'${v.replace(/\\/g, '\\\\').replace(/'/g, doubled ? "''" : "\\'")}'`,
  }));
const comment = fc
  .string({ maxLength: 20 })
  .filter((s) => !/[\r\n]/.test(s))
  .map((s) => `#${s}`);

/** One line of a valid postgresql.conf and the entry PostgreSQL reads from it, if any. */
const line: fc.Arbitrary<Line> = fc.oneof(
  blank.map((text) => ({ text })),
  fc.tuple(space, comment).map(([s, c]) => ({ text: s + c })),
  fc
    .tuple(
      space,
      name,
      fc.boolean(),
      fc.oneof(
        bare.map((v) => ({ value: v, text: v })),
        quoted,
      ),
      space,
      fc.option(comment, { nil: '' }),
    )
    .map(([lead, n, equals, v, trail, c]) => ({
      text: `${lead}${n}${equals ? `${trail}=${trail}` : ' '}${v.text}${c === '' ? '' : ` ${c}`}`,
      entry: { name: n.toLowerCase(), value: v.value },
    })),
);
const conf = fc.tuple(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'));

describe('parseConf under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('reads back exactly the assignments of a generated file, in order, with their line numbers', () => {
    fc.assert(
      fc.property(conf, ([lines, eol]) => {
        const expected = lines.flatMap((l, i) => (l.entry ? [{ ...l.entry, line: i + 1 }] : []));
        const entries = parseConf(lines.map((l) => l.text).join(eol));
        expect(entries).toEqual(expected);
        for (const e of expected)
          expect(confValue(entries, e.name.toUpperCase())).toBe(
            expected.filter((x) => x.name === e.name).at(-1)?.value,
          );
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws on damaged or random text, and every entry it reports is well formed', () => {
    fc.assert(
      fc.property(textInput(conf.map(([lines, eol]) => lines.map((l) => l.text).join(eol))), (text) => {
        const entries = parseConf(text);
        const count = text.split(/\r?\n/).length;
        for (const e of entries) {
          expect(e.name).toMatch(/^[a-z_][a-z0-9_.]*$/);
          expect(e.line).toBeGreaterThanOrEqual(1);
          expect(e.line).toBeLessThanOrEqual(count);
          expect(typeof e.value).toBe('string');
        }
        expect(entries.map((e) => e.line)).toEqual([...new Set(entries.map((e) => e.line))].sort((a, b) => a - b));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
