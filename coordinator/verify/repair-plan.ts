import { PgduplexError } from '../../shared/errors.js';
import { MAX_KEYS_PER_CALL, type KeyHash, type RowKey } from '../../shared/protocol/rows.js';
import type { PairFacts } from '../setup/steps.js';
import type { DifferingRow } from './slices.js';
import type { TableName } from './table-compare.js';

type Node = PairFacts['source'];

/** Who keeps its rows and who takes them, and what each agent is asked to do. */
export interface RepairPlan {
  keep: Node;
  other: Node;
  /** rows-take on `other`: back up, delete its extra rows without replicating, expect the rest. */
  take: {
    database: string;
    schema: string;
    table: string;
    overwrite: KeyHash[];
    remove: KeyHash[];
    arrive: RowKey[];
  };
  /** rows-push on `keep`: rewrite these rows so replication carries them to `other` (`absent`: must not be there). */
  push: { database: string; schema: string; table: string; keys: RowKey[]; absent: RowKey[] };
  /** Differing rows left for a later run (more than one run repairs). */
  left: number;
}

/** The node `--keep` names, by its node name; anything else is a usage error that changes nothing. */
export function keptNode(f: PairFacts, name: string): { keep: Node; other: Node } {
  if (name === f.source.node) return { keep: f.source, other: f.target };
  if (name === f.target.node) return { keep: f.target, other: f.source };
  throw new PgduplexError('USAGE', `--keep ${JSON.stringify(name)} is neither ${f.source.node} nor ${f.target.node}`, {
    hint: 'name the node whose rows are kept, as pgduplex whoami / pgduplex peers show it',
  });
}

/**
 * Splits the differing rows by what `other` must do to end up with `keep`'s version: overwritten (both hold
 * the key), removed (only `other` holds it), arriving (only `keep` holds it). Each carries the md5 `other`'s row
 * had when compared, so a row written since is refused rather than overwritten unseen.
 */
export function planRepair(f: PairFacts, t: TableName, rows: readonly DifferingRow[], keepName: string): RepairPlan {
  const { keep, other } = keptNode(f, keepName);
  const keepIs = keep === f.source ? 'source' : 'target';
  const otherIs = keepIs === 'source' ? 'target' : 'source';
  const now = rows.slice(0, MAX_KEYS_PER_CALL);
  const overwrite: KeyHash[] = [];
  const remove: KeyHash[] = [];
  const arrive: RowKey[] = [];
  for (const r of now) {
    const [k, o] = [r[keepIs], r[otherIs]];
    if (k !== undefined && o !== undefined) overwrite.push({ key: r.key, hash: o });
    else if (o !== undefined) remove.push({ key: r.key, hash: o });
    else if (k !== undefined) arrive.push(r.key);
  }
  const table = { database: f.database, schema: t.schema, table: t.table };
  return {
    keep,
    other,
    take: { ...table, overwrite, remove, arrive },
    push: { ...table, keys: [...overwrite.map((x) => x.key), ...arrive], absent: remove.map((x) => x.key) },
    left: rows.length - now.length,
  };
}

/** The plan in one line per node, before the agents' own check lines. */
export function planSummary(p: RepairPlan): string[] {
  const fq = `${p.take.schema}.${p.take.table}`;
  const n = p.take.overwrite.length + p.take.arrive.length + p.take.remove.length;
  return [
    `${fq}: ${p.other.node} takes ${p.keep.node}'s version of ${n} rows: ` +
      `${p.take.overwrite.length} overwritten, ${p.take.arrive.length} added, ${p.take.remove.length} deleted` +
      (p.left > 0 ? ` (${p.left} more differ: run it again afterwards)` : ''),
  ];
}
