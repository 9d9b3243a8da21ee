import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_TO_SERVER, FrameOpener, FrameSealer } from '../../../shared/channel/frames.js';
import { bytesEqual } from '../../../shared/crypto/bytes.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, mutatedBytes, typedOutcome } from '../../fuzz/mutate.js';

const MAX = 1024;
const key = new Uint8Array(32).fill(9);
const opener = () => new FrameOpener(key, CLIENT_TO_SERVER, MAX);
const sealed = fc
  .uint8Array({ maxLength: MAX })
  .map((plain) => ({ plain, box: new FrameSealer(key, CLIENT_TO_SERVER, MAX).seal(plain) }));
const FRAME_CODES = ['FRAME_INVALID', 'FRAME_TOO_LARGE'] as const;

describe('FrameOpener under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('refuses random frames with a typed error every time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX + 100 }), (bytes) => {
        expect(typedOutcome(FRAME_CODES, () => opener().open(bytes)).ok).toBe(false);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('opens a sealed frame only when no byte of it changed (bit flips, truncation, valid prefix + garbage)', () => {
    fc.assert(
      fc.property(
        sealed.chain((s) => fc.tuple(fc.constant(s), mutatedBytes(fc.constant(s.box)))),
        ([{ plain, box }, damaged]) => {
          const r = typedOutcome(FRAME_CODES, () => opener().open(damaged));
          const untouched = damaged.length === box.length && bytesEqual(damaged, box);
          expect(r.ok).toBe(untouched);
          if (r.ok) expect(Buffer.from(r.value).equals(Buffer.from(plain))).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('keeps its place after a refused frame: the genuine next frame of the stream still opens', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 5 }),
        fc.uint8Array({ maxLength: 200 }),
        (plains, junk) => {
          const seal = new FrameSealer(key, CLIENT_TO_SERVER, MAX);
          const open = opener();
          for (const p of plains) {
            expect(typedOutcome(FRAME_CODES, () => open.open(junk)).ok).toBe(false);
            expect(Buffer.from(open.open(seal.seal(p))).equals(Buffer.from(p))).toBe(true);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
