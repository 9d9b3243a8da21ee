import type { RowKey } from '../../shared/protocol/rows.js';

/** What one node answers for a key range: row count, checksum, last key. */
export interface SliceSum {
  rows: number;
  sum: string;
  last: RowKey | null;
}

/** A key range that differed: `after` < key ≤ `upTo` (either open when null). */
export interface KeyRange {
  after: RowKey | null;
  upTo: RowKey | null;
}

/** One key that differs, with its row's md5 on each node (absent: the node lacks the row). */
export interface DifferingRow {
  key: RowKey;
  source?: string;
  target?: string;
}

/**
 * The range the target must answer for after the source answered `s` for `limit` rows after `after`: up to the
 * source's last key, or open-ended when the source ran out (its slice was the table's last).
 */
export const targetRange = (after: RowKey | null, s: SliceSum, limit: number): KeyRange => ({
  after,
  upTo: s.rows >= limit ? s.last : null,
});

/** Two nodes agree on a range when they hold as many rows, with the same checksum, ending at the same key. */
export const sameSlice = (a: SliceSum, b: SliceSum): boolean =>
  a.rows === b.rows && a.sum === b.sum && JSON.stringify(a.last) === JSON.stringify(b.last);

/**
 * Walks a table in key order, `limit` rows at a time, from `from` (the start when null): `read(side, range, limit)`
 * answers for one side; the target is asked for exactly the source's range, so each slice is compared over the same
 * keys. Stops early when `stop()` says so between slices. Returns the ranges that differ, how many slices were read,
 * and where to resume (`next`, null when the table is done). The last range is open-ended, so rows beyond the
 * source's last key (only on the target) are inside it.
 */
export async function walkSlices(
  read: (side: 'source' | 'target', r: KeyRange, limit: number) => Promise<SliceSum>,
  limit: number,
  o: { from?: RowKey | null; stop?: () => boolean; pause?: () => Promise<void> } = {},
): Promise<{ differing: KeyRange[]; slices: number; next: RowKey | null }> {
  const differing: KeyRange[] = [];
  let after: RowKey | null = o.from ?? null;
  for (let slices = 1; ; slices++) {
    const s = await read('source', { after, upTo: null }, limit);
    const range = targetRange(after, s, limit);
    const t = await read('target', range, limit);
    if (!sameSlice(s, t)) differing.push(range);
    if (range.upTo === null) return { differing, slices, next: null };
    after = range.upTo;
    if (o.stop?.()) return { differing, slices, next: after };
    await o.pause?.();
  }
}

/** The keys whose rows differ between two listings of key → md5, in key order of the source then the target. */
export function differingRows(
  source: ReadonlyArray<{ key: RowKey; hash: string }>,
  target: ReadonlyArray<{ key: RowKey; hash: string }>,
): DifferingRow[] {
  const id = (k: RowKey) => JSON.stringify(k);
  const t = new Map(target.map((r) => [id(r.key), r]));
  const s = new Map(source.map((r) => [id(r.key), r]));
  return [
    ...source
      .filter((r) => t.get(id(r.key))?.hash !== r.hash)
      .map((r) => {
        const other = t.get(id(r.key));
        return other ? { key: r.key, source: r.hash, target: other.hash } : { key: r.key, source: r.hash };
      }),
    ...target.filter((r) => !s.has(id(r.key))).map((r) => ({ key: r.key, target: r.hash })),
  ];
}

/** Rows that differed the same way in both rounds: a row still in flight in the first has arrived by the second. */
export function settledRows(first: readonly DifferingRow[], second: readonly DifferingRow[]): DifferingRow[] {
  const seen = new Map(first.map((r) => [JSON.stringify(r.key), r]));
  return second.filter((r) => {
    const f = seen.get(JSON.stringify(r.key));
    return f !== undefined && f.source === r.source && f.target === r.target;
  });
}

/** A key as an operator reads it: the value alone for a one-column key, else (v1, v2). */
export const keyText = (k: RowKey): string => (k.length === 1 ? (k[0] ?? '') : `(${k.join(', ')})`);

/** How a row differs, in words, naming the nodes. */
export const howText = (r: DifferingRow, source: string, target: string): string =>
  r.source === undefined ? `only on ${target}` : r.target === undefined ? `only on ${source}` : 'content differs';
