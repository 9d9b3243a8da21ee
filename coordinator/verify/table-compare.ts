import { PgduplexError } from '../../shared/errors.js';
import { tablesSliceAction } from '../../shared/protocol/rows.js';
import type { Agents } from '../setup/agents.js';
import { drained, pairSlots } from '../setup/settled.js';
import type { PairFacts } from '../setup/steps.js';
import { differingRows, settledRows, walkSlices, type DifferingRow, type KeyRange, type SliceSum } from './slices.js';

/** A table named on the command line: `schema.table` or `table` (in public). */
export interface TableName {
  schema: string;
  table: string;
}

/** How a compare walks: rows per slice, the most keys listed, how long to wait for the lag to drain. */
export interface CompareLimits {
  sliceRows: number;
  maxKeys: number;
  drainMs: number;
}

/** What a compare of one table found: the rows that differ after the lag drained, and how it walked. */
export interface TableCompare {
  table: string;
  slices: number;
  differingSlices: number;
  rows: DifferingRow[];
  /** False when more keys differ than were listed (maxKeys). */
  complete: boolean;
}

/** Parses `--table`: a plain lower-case name, optionally schema-qualified. */
export function parseTableName(text: string): TableName {
  const m = /^(?:([a-z_][a-z0-9_]{0,62})\.)?([a-z_][a-z0-9_]{0,62})$/.exec(text);
  if (!m)
    throw new PgduplexError('USAGE', `--table ${JSON.stringify(text)} is not a table name pgduplex accepts`, {
      hint: 'a plain lower-case name such as v_domains or public.v_domains',
    });
  return { schema: m[1] ?? 'public', table: m[2] ?? '' };
}

/**
 * The rows of `ranges` that differ the same way in two listings, each made after the lag between the nodes
 * drained: a row written moments ago on one node has arrived by then, so writes in flight never count.
 */
export async function settleRanges(
  agents: Agents,
  f: PairFacts,
  t: TableName,
  ranges: readonly KeyRange[],
  l: CompareLimits,
): Promise<{ rows: DifferingRow[]; complete: boolean }> {
  const base = { database: f.database, schema: t.schema, table: t.table };
  const listKeys = async () => {
    let complete = true;
    const rows: DifferingRow[] = [];
    for (const r of ranges) {
      const keys = (n: PairFacts['source']) =>
        agents.call(n.side, tablesSliceAction, { ...base, after: r.after, upTo: r.upTo, limit: 10_000, keys: true });
      const [a, b] = await Promise.all([keys(f.source), keys(f.target)]);
      if (a.rows >= 10_000 || b.rows >= 10_000) complete = false;
      rows.push(...differingRows(a.keys ?? [], b.keys ?? []));
      if (rows.length >= l.maxKeys) return { rows: rows.slice(0, l.maxKeys), complete: false };
    }
    return { rows, complete };
  };
  if (ranges.length === 0) return { rows: [], complete: true };
  await drained(agents, f, pairSlots(f), l.drainMs);
  const first = await listKeys();
  if (first.rows.length === 0) return first;
  await drained(agents, f, pairSlots(f), l.drainMs);
  const second = await listKeys();
  return { rows: settledRows(first.rows, second.rows), complete: first.complete && second.complete };
}

/** Reads one key range of the table on either node of the pair: what walkSlices walks with. */
export const sliceReader =
  (agents: Agents, f: PairFacts, t: TableName) =>
  (s: 'source' | 'target', r: KeyRange, limit: number): Promise<SliceSum> =>
    agents.call(s === 'source' ? f.source.side : f.target.side, tablesSliceAction, {
      database: f.database,
      schema: t.schema,
      table: t.table,
      after: r.after,
      upTo: r.upTo,
      limit,
    });

/**
 * Compares one table on both nodes in primary-key slices (one short transaction each), then settles the differing
 * slices' rows after the lag drained (settleRanges).
 */
export async function compareTable(
  agents: Agents,
  f: PairFacts,
  t: TableName,
  l: CompareLimits,
): Promise<TableCompare> {
  const walk = await walkSlices(sliceReader(agents, f, t), l.sliceRows);
  const settled = await settleRanges(agents, f, t, walk.differing, l);
  return { table: `${t.schema}.${t.table}`, slices: walk.slices, differingSlices: walk.differing.length, ...settled };
}
