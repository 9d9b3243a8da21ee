import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interleave, isInterleaved, type SequenceState } from '../../../agent/postgres/sequences.js';

const seq = (over: Partial<SequenceState>): SequenceState => ({
  schema: 'public',
  name: 's',
  increment: 1,
  next: 1,
  columnMax: 0,
  owner: 't.id',
  ...over,
});

describe('interleaved sequences', () => {
  it('puts node 1 on odd and node 2 on even values above everything handed out', () => {
    expect(interleave(seq({ next: 101, columnMax: 100 }), 2, 1)).toEqual({ increment: 2, next: 101 });
    expect(interleave(seq({ next: 101, columnMax: 100 }), 2, 2)).toEqual({ increment: 2, next: 102 });
    expect(interleave(seq({ next: 5, columnMax: 250 }), 2, 1)).toEqual({ increment: 2, next: 251 });
  });

  it('recognises a sequence that is already in place (even below values the peer wrote), and one that is not', () => {
    expect(isInterleaved(seq({ increment: 2, next: 103, columnMax: 101 }), 2, 1)).toBe(true);
    expect(isInterleaved(seq({ increment: 2, next: 104, columnMax: 101 }), 2, 1)).toBe(false);
    expect(isInterleaved(seq({ increment: 1, next: 103, columnMax: 101 }), 2, 1)).toBe(false);
    expect(isInterleaved(seq({ increment: 2, next: 101, columnMax: 250 }), 2, 1)).toBe(true);
  });

  it('never lets two slots hand out the same value, and never goes below what exists (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 2, max: 5 }),
        (next, columnMax, step) => {
          const targets = Array.from({ length: step }, (_, i) => interleave(seq({ next, columnMax }), step, i + 1));
          const residues = new Set(targets.map((t) => t.next % step));
          expect(residues.size).toBe(step);
          for (const [i, t] of targets.entries()) {
            expect(t.next).toBeGreaterThan(Math.max(columnMax, next - 1));
            expect(t.next - Math.max(columnMax, next - 1)).toBeLessThanOrEqual(step);
            expect(isInterleaved(seq({ increment: step, next: t.next, columnMax }), step, i + 1)).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
