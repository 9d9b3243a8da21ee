import { describe, expect, it } from 'vitest';
import {
  differingRows,
  howText,
  keyText,
  sameSlice,
  settledRows,
  targetRange,
  walkSlices,
  type KeyRange,
  type SliceSum,
} from '../../../coordinator/verify/slices.js';

// Two nodes' tables as sorted lists of [key, md5]; a fake tables.slice answers over them as the agent does.
type Table = Array<[number, string]>;
const slice = (t: Table, r: KeyRange, limit: number): SliceSum => {
  const after = r.after ? Number(r.after[0]) : -Infinity;
  const upTo = r.upTo ? Number(r.upTo[0]) : Infinity;
  const rows = t.filter(([k]) => k > after && k <= upTo).slice(0, limit);
  const last = rows.at(-1);
  return { rows: rows.length, sum: rows.map(([k, h]) => `${k}${h}`).join(','), last: last ? [String(last[0])] : null };
};
const table = (n: number, edit: (t: Table) => Table = (t) => t): Table =>
  edit(Array.from({ length: n }, (_, i): [number, string] => [i + 1, 'h']));
const walk = async (source: Table, target: Table, limit: number) => {
  const reads: string[] = [];
  const r = await walkSlices(async (side, range, l) => {
    reads.push(`${side}:${range.after?.[0] ?? '-'}..${range.upTo?.[0] ?? '-'}`);
    return slice(side === 'source' ? source : target, range, l);
  }, limit);
  return { ...r, reads };
};

describe('slice planning', () => {
  it('asks the target for exactly the range the source answered, open-ended when the source ran out', () => {
    expect(targetRange(['5'], { rows: 3, sum: '1', last: ['9'] }, 3)).toEqual({ after: ['5'], upTo: ['9'] });
    expect(targetRange(['5'], { rows: 2, sum: '1', last: ['7'] }, 3)).toEqual({ after: ['5'], upTo: null });
    expect(targetRange(null, { rows: 0, sum: '0', last: null }, 3)).toEqual({ after: null, upTo: null });
  });

  it('counts a slice equal only with the same rows, checksum and last key', () => {
    const a = { rows: 2, sum: '7', last: ['1', 'x'] };
    expect(sameSlice(a, { ...a, last: ['1', 'x'] })).toBe(true);
    expect(sameSlice(a, { ...a, sum: '8' })).toBe(false);
    expect(sameSlice(a, { ...a, rows: 3 })).toBe(false);
    expect(sameSlice(a, { ...a, last: ['1', 'y'] })).toBe(false);
  });

  it('walks equal tables slice by slice and finds nothing', async () => {
    const r = await walk(table(7), table(7), 3);
    expect(r.differing).toEqual([]);
    expect(r.slices).toBe(3);
    expect(r.reads).toEqual(['source:-..-', 'target:-..3', 'source:3..-', 'target:3..6', 'source:6..-', 'target:6..-']);
  });

  it('finds the one slice holding a changed row', async () => {
    const r = await walk(
      table(9),
      table(9, (t) => t.map(([k, h]) => [k, k === 5 ? 'other' : h])),
      3,
    );
    expect(r.differing).toEqual([{ after: ['3'], upTo: ['6'] }]);
  });

  it('finds rows only on the target beyond the source’s last key in the open last range', async () => {
    const r = await walk(table(6), table(8), 3);
    expect(r.differing).toEqual([{ after: ['6'], upTo: null }]);
  });

  it('finds a row missing on the target inside a slice', async () => {
    const r = await walk(
      table(6),
      table(6, (t) => t.filter(([k]) => k !== 2)),
      3,
    );
    expect(r.differing).toEqual([{ after: null, upTo: ['3'] }]);
  });
});

describe('differing rows', () => {
  const s = [
    { key: ['1'], hash: 'a' },
    { key: ['2'], hash: 'b' },
    { key: ['3'], hash: 'c' },
  ];
  const t = [
    { key: ['1'], hash: 'a' },
    { key: ['2'], hash: 'x' },
    { key: ['4'], hash: 'd' },
  ];

  it('lists keys whose rows differ, only on the source, only on the target', () => {
    const rows = differingRows(s, t);
    expect(rows).toEqual([
      { key: ['2'], source: 'b', target: 'x' },
      { key: ['3'], source: 'c' },
      { key: ['4'], target: 'd' },
    ]);
    expect(rows.map((r) => howText(r, 'a', 'b'))).toEqual(['content differs', 'only on a', 'only on b']);
  });

  it('keeps only rows that differed the same way in both rounds (in-flight writes drop out)', () => {
    const first = differingRows(s, t);
    const second = differingRows(s, [
      { key: ['1'], hash: 'a' },
      { key: ['2'], hash: 'x' },
      { key: ['3'], hash: 'c' },
    ]);
    expect(settledRows(first, second)).toEqual([{ key: ['2'], source: 'b', target: 'x' }]);
  });

  it('shows a one-column key as its value, a composite key in parentheses', () => {
    expect(keyText(['4f1c'])).toBe('4f1c');
    expect(keyText(['1', 'b16'])).toBe('(1, b16)');
  });
});
