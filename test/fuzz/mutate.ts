import fc from 'fast-check';
import { expect } from 'vitest';
import { concat as concatBytes } from '../../shared/crypto/bytes.js';
import { PgduplexError, type ErrorCode } from '../../shared/errors.js';

// Structure-aware fuzzing: start from valid input and damage it the ways corruption and attackers do,
// so properties reach the deep paths that fully random input almost never gets past.

/** The runs every parser's property gets in CI (issue 7: at least 10,000 each). */
export const FUZZ_RUNS = 10_000;

/** Per-test timeout for fuzz tests: generous, since the machine is shared and CI may be slower. */
export const FUZZ_TIMEOUT_MS = 180_000;

type Edit<T> = (input: T) => T;

const at = (n: number, len: number): number => (len === 0 ? 0 : n % len);

/** One edit of a byte array: bit flip, byte set, truncation, garbage appended/inserted, range removed or repeated. */
const byteEdit: fc.Arbitrary<Edit<Uint8Array>> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]): Edit<Uint8Array> => (b) => {
    if (b.length === 0) return Uint8Array.of(1 << bit);
    const out = b.slice();
    out[at(i, b.length)]! ^= 1 << bit;
    return out;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]): Edit<Uint8Array> => (b) => {
    const out = b.slice();
    if (b.length > 0) out[at(i, b.length)] = v;
    return out;
  }),
  fc.nat().map(
    (n): Edit<Uint8Array> =>
      (b) =>
        b.slice(0, at(n, b.length + 1)),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map(
    (g): Edit<Uint8Array> =>
      (b) =>
        concatBytes(b, g),
  ),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, g]): Edit<Uint8Array> => (b) => {
    const cut = at(i, b.length + 1);
    return concatBytes(b.subarray(0, cut), g, b.subarray(cut));
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 32 })).map(([i, n]): Edit<Uint8Array> => (b) => {
    const from = at(i, b.length + 1);
    return concatBytes(b.subarray(0, from), b.subarray(from + n + 1));
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 32 })).map(([i, n]): Edit<Uint8Array> => (b) => {
    const from = at(i, b.length + 1);
    return concatBytes(b.subarray(0, from + n), b.subarray(from));
  }),
);

/** Characters that change how text parsers read a line: quotes, escapes, separators, line ends, NUL, non-ASCII. */
const NASTY = [
  "'",
  '"',
  '\\',
  '\n',
  '\r',
  '\r\n',
  '#',
  '=',
  '-',
  ' ',
  '\t',
  '\0',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '\u2028',
  '\u00df',
  '\u0131',
  '\ud800',
  '\uffff',
  '__proto__',
  'constructor',
];
const insertion = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** One edit of a string: a character changed, a nasty piece inserted, a range removed or repeated, truncation, case flipped. */
const textEdit: fc.Arbitrary<Edit<string>> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 15 })).map(([i, bit]): Edit<string> => (s) => {
    if (s.length === 0) return String.fromCharCode(1 << bit);
    const j = at(i, s.length);
    return s.slice(0, j) + String.fromCharCode(s.charCodeAt(j) ^ (1 << bit)) + s.slice(j + 1);
  }),
  fc.tuple(fc.nat(), insertion).map(([i, piece]): Edit<string> => (s) => {
    const j = at(i, s.length + 1);
    return s.slice(0, j) + piece + s.slice(j);
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 16 })).map(([i, n]): Edit<string> => (s) => {
    const j = at(i, s.length + 1);
    return s.slice(0, j) + s.slice(j + n + 1);
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 16 })).map(([i, n]): Edit<string> => (s) => {
    const j = at(i, s.length + 1);
    return s.slice(0, j + n) + s.slice(j);
  }),
  fc.nat().map(
    (n): Edit<string> =>
      (s) =>
        s.slice(0, at(n, s.length + 1)),
  ),
  fc.constant<Edit<string>>((s) => s.toLowerCase()),
  fc.constant<Edit<string>>((s) => s.toUpperCase()),
);

function mutated<T>(valid: fc.Arbitrary<T>, edit: fc.Arbitrary<Edit<T>>): fc.Arbitrary<T> {
  return fc
    .tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([v, edits]) => edits.reduce((acc, e) => e(acc), v));
}

/** Valid bytes damaged by 1-4 edits. */
export const mutatedBytes = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> => mutated(valid, byteEdit);

/** Valid text damaged by 1-4 edits. */
export const mutatedText = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> => mutated(valid, textEdit);

/** The usual mix: mostly damaged valid input, some valid input, some fully random input. */
export function bytesInput(valid: fc.Arbitrary<Uint8Array>, maxLength = 2048): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: mutatedBytes(valid), weight: 6 },
    { arbitrary: valid, weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength }), weight: 3 },
  );
}

/** The same mix for text parsers. */
export function textInput(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: mutatedText(valid), weight: 6 },
    { arbitrary: valid, weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 2 },
    { arbitrary: fc.string({ maxLength: 300 }), weight: 1 },
  );
}

/**
 * Runs a parser on fuzzed input: it may return, or throw a PgduplexError with one of `codes`;
 * anything else (a TypeError, RangeError, a foreign code) fails the property.
 */
export function typedOutcome<T>(
  codes: readonly ErrorCode[],
  run: () => T,
): { ok: true; value: T } | { ok: false; error: PgduplexError } {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(PgduplexError);
    expect(codes).toContain((err as PgduplexError).code);
    return { ok: false, error: err as PgduplexError };
  }
}
