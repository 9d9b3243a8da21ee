import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, normalizeFingerprint } from '../../../shared/crypto/fingerprint.js';
import { formatToken, parseToken, TOKEN_SECRET_BYTES } from '../../../shared/crypto/token.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, textInput, typedOutcome } from '../../fuzz/mutate.js';

const token = fc
  .tuple(
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.uint8Array({ minLength: TOKEN_SECRET_BYTES, maxLength: TOKEN_SECRET_BYTES }),
  )
  .map(([key, secret]) => formatToken({ fingerprint: fingerprintOf(key), secret }));
/** How people paste a token: surrounding blanks, lower case, the dashes gone or moved. */
const pasted = fc
  .tuple(token, fc.constantFrom('', ' ', '\n', '\t '), fc.boolean(), fc.boolean())
  .map(([t, pad, lower, dashless]) => {
    const body = dashless ? t.replace(/-/g, '') : t;
    return pad + (lower ? body.toLowerCase() : body) + pad;
  });

describe('parseToken under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('accepts exactly the token that was written, however damaged the rest, or refuses with USAGE', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          textInput(pasted),
          fc.string().map((s) => `PGDX1-${s}`),
        ),
        (text) => {
          const r = typedOutcome(['USAGE'], () => parseToken(text));
          if (!r.ok) return;
          expect(r.value.secret).toHaveLength(TOKEN_SECRET_BYTES);
          expect(r.value.fingerprint).toMatch(/^[A-Z2-7]{20}$/);
          expect(normalizeFingerprint(formatToken(r.value))).toBe(normalizeFingerprint(text));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('round-trips every pasted form of a valid token', () => {
    fc.assert(
      fc.property(pasted, (text) => {
        expect(normalizeFingerprint(formatToken(parseToken(text)))).toBe(normalizeFingerprint(text));
      }),
      { numRuns: 1_000 },
    );
  });
});
