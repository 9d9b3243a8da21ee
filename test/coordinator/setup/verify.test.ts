import { describe, expect, it } from 'vitest';
import { disjoint, verified } from '../../../coordinator/setup/verify.js';
import { compatible } from '../../../coordinator/setup/preflight.js';

describe('disjoint sequences', () => {
  it('holds for the same step with different residues', () => {
    expect(disjoint({ increment: 2, next: 101 }, { increment: 2, next: 202 })).toBe(true);
    expect(disjoint({ increment: 3, next: 7 }, { increment: 3, next: 8 })).toBe(true);
  });
  it('fails for the same residue, different steps, or a step of 1', () => {
    expect(disjoint({ increment: 2, next: 101 }, { increment: 2, next: 203 })).toBe(false);
    expect(disjoint({ increment: 2, next: 101 }, { increment: 3, next: 102 })).toBe(false);
    expect(disjoint({ increment: 1, next: 1 }, { increment: 1, next: 2 })).toBe(false);
    expect(disjoint({ increment: -2, next: -1 }, { increment: -2, next: -2 })).toBe(false);
  });
});

describe('verified', () => {
  const clean = { tables: 2, differences: [], schema: [], sequences: [{ sequence: 'public.s', disjoint: true }] };
  it('is true only when rows, schema and sequences are all fine', () => {
    expect(verified(clean)).toBe(true);
    expect(verified({ ...clean, differences: [{ table: 'public.t' }] })).toBe(false);
    expect(verified({ ...clean, schema: [{ table: 'public.t', source: 'x int' }] })).toBe(false);
    expect(verified({ ...clean, sequences: [{ sequence: 'public.s', disjoint: false }] })).toBe(false);
  });
});

describe('compatible agent versions', () => {
  it('needs the same major.minor', () => {
    expect(compatible('0.1.0', '0.1.7')).toBe(true);
    expect(compatible('0.1.0', '0.2.0')).toBe(false);
    expect(compatible('1.2.3', '1.2.0')).toBe(true);
  });
});
