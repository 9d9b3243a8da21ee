import { PgduplexError } from '../../shared/errors.js';
import { tablesSliceAction, type RowKey } from '../../shared/protocol/rows.js';
import { subscriptionName } from '../../shared/replication.js';
import type { Agents } from '../setup/agents.js';
import { drained } from '../setup/settled.js';
import type { PairFacts } from '../setup/steps.js';
import { differingRows, settledRows, walkSlices, type DifferingRow, type KeyRange } from './slices.js';

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

/** The slots both directions read: what "the lag drained" waits on. */
export const pairSlots = (f: PairFacts) => ({
  onSource: subscriptionName(f.source.node),
  onTarget: subscriptionName(f.target.node),
});

/**
 * Compares one table on both nodes in primary-key slices (one short transaction each), then re-reads the keys of
 * every differing slice twice, each time after the lag between the nodes drained: only a row that differs the same
 * way both times counts, so writes in flight never do.
 */
export async function compareTable(
  agents: Agents,
  f: PairFacts,
  t: TableName,
  l: CompareLimits,
): Promise<TableCompare> {
  const base = { database: f.database, schema: t.schema, table: t.table };
  const side = (s: 'source' | 'target') => (s === 'source' ? f.source.side : f.target.side);
  const walk = await walkSlices(
    (s, r, limit) => agents.call(side(s), tablesSliceAction, { ...base, ...r, limit }),
    l.sliceRows,
  );
  const name = `${t.schema}.${t.table}`;
  const result = { table: name, slices: walk.slices, differingSlices: walk.differing.length };
  if (walk.differing.length === 0) return { ...result, rows: [], complete: true };
  const listKeys = async () => {
    let complete = true;
    const rows: DifferingRow[] = [];
    for (const r of walk.differing) {
      const keys = (s: 'source' | 'target') =>
        agents.call(side(s), tablesSliceAction, { ...base, ...range(r), limit: 10_000, keys: true });
      const [a, b] = await Promise.all([keys('source'), keys('target')]);
      if (a.rows >= 10_000 || b.rows >= 10_000) complete = false;
      rows.push(...differingRows(a.keys ?? [], b.keys ?? []));
      if (rows.length >= l.maxKeys) return { rows: rows.slice(0, l.maxKeys), complete: false };
    }
    return { rows, complete };
  };
  await drained(agents, f, pairSlots(f), l.drainMs);
  const first = await listKeys();
  if (first.rows.length === 0) return { ...result, rows: [], complete: first.complete };
  await drained(agents, f, pairSlots(f), l.drainMs);
  const second = await listKeys();
  return { ...result, rows: settledRows(first.rows, second.rows), complete: first.complete && second.complete };
}

const range = (r: KeyRange): { after: RowKey | null; upTo: RowKey | null } => ({ after: r.after, upTo: r.upTo });
