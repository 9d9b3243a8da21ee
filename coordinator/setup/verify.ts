import type { ActionDescriptor, ParamsOf, ResultOf } from '../../shared/protocol/actions.js';
import {
  schemaDigestAction,
  tablesChecksumAction,
  verifiedGetAction,
  verifiedSetAction,
} from '../../shared/protocol/data.js';
import { sequencesStatusAction } from '../../shared/protocol/replication-actions.js';
import type { Agents } from './agents.js';
import type { Report } from './runner.js';
import type { PairFacts } from './steps.js';
import { settledDifferences, type PairSlots } from './settled.js';
import { sampleDifferingKeys, type DifferingKey } from './verify-sample.js';

/** Everything verify found that differs: table contents, table shapes, sequences that could collide. */
export interface VerifyResult {
  tables: number;
  differences: Array<{
    table: string;
    source?: { rows: number };
    target?: { rows: number };
    sampleKeys?: DifferingKey[];
  }>;
  schema: Array<{ table: string; source?: string; target?: string }>;
  sequences: Array<{ sequence: string; source?: Seq; target?: Seq; disjoint: boolean }>;
}

type Seq = { increment: number; next: number };
type Sums = Array<{ table: string; rows: number; sum: string }>;

const SAMPLED_TABLES = 5;

/** True when verify found nothing wrong. */
export const verified = (r: VerifyResult): boolean =>
  r.differences.length === 0 && r.schema.length === 0 && r.sequences.every((s) => s.disjoint);

/** Two nodes' sequences hand out disjoint values when they step alike and sit in different residue classes. */
export function disjoint(a: Seq, b: Seq): boolean {
  const mod = (x: number, m: number) => ((x % m) + m) % m;
  return a.increment === b.increment && a.increment >= 2 && mod(a.next, a.increment) !== mod(b.next, b.increment);
}

/**
 * When both nodes say a full compare passed after their last change: the older of the two times, or
 * null (never, changed since, or an agent that does not keep the record).
 */
export async function contentsVerifiedAt(agents: Agents, f: PairFacts): Promise<string | null> {
  const get = (n: PairFacts['source']) =>
    agents
      .call(n.side, verifiedGetAction, { database: f.database })
      .catch(() => ({ verifiedAt: null, current: false }));
  const both = await Promise.all([get(f.source), get(f.target)]);
  if (!both.every((v) => v.current && v.verifiedAt !== null)) return null;
  return both.map((v) => v.verifiedAt as string).sort()[0] ?? null;
}

/**
 * Compares both nodes: rows and content checksums of every replicated table (computed inside
 * PostgreSQL, both nodes in parallel), a sample of differing keys, table shapes, and sequences.
 */
export async function verifyPair(
  agents: Agents,
  f: PairFacts,
  report: Report,
  excluded: readonly string[] = [],
  o: { contents?: boolean; lastComparedAt?: string; settled?: PairSlots } = {},
): Promise<VerifyResult> {
  const both = <D extends ActionDescriptor>(d: D, params: ParamsOf<D>): Promise<[ResultOf<D>, ResultOf<D>]> => {
    const call = (n: PairFacts['source']) => agents.call(n.side, d, params, { timeoutMs: 3_600_000 });
    return Promise.all([call(f.source), call(f.target)]);
  };
  const db = { database: f.database };
  const contents = o.contents ?? true;
  const none = async (): Promise<[Sums, Sums]> => [[], []];
  const [[a, b], [da, dbs], [qa, qb]] = await Promise.all([
    contents && !o.settled ? both(tablesChecksumAction, db) : none(),
    both(schemaDigestAction, db),
    both(sequencesStatusAction, db),
  ]);
  const pairName = `${f.source.node}/${f.target.node}`;
  for (const t of excluded) report('note', pairName, `verify: ${t} is not replicated (excluded), not compared`);

  const settled = contents && o.settled ? await settledDifferences(agents, f, o.settled, excluded) : undefined;
  const names = [...new Set([...a, ...b].map((t) => t.table))].filter((t) => !excluded.includes(t)).sort();
  const differences: VerifyResult['differences'] =
    settled?.differences ??
    names.flatMap((table) => {
      const x = a.find((t) => t.table === table);
      const y = b.find((t) => t.table === table);
      if (x && y && x.rows === y.rows && x.sum === y.sum) return [];
      return [{ table, ...(x ? { source: { rows: x.rows } } : {}), ...(y ? { target: { rows: y.rows } } : {}) }];
    });
  for (const d of settled ? [] : differences.slice(0, SAMPLED_TABLES)) {
    if (d.source && d.target) d.sampleKeys = await sampleDifferingKeys(agents, f, d.table);
  }
  for (const d of differences) {
    const keys = d.sampleKeys?.length ? `; e.g. ${d.sampleKeys.map((k) => `${k.key} (${k.how})`).join(', ')}` : '';
    report(
      'DIFFERS',
      pairName,
      `verify: ${d.table}: ${d.source?.rows ?? 'missing'} rows on ${f.source.node}, ${d.target?.rows ?? 'missing'} ` +
        `on ${f.target.node}${keys}`,
    );
  }

  const shapes = [...new Set([...Object.keys(da), ...Object.keys(dbs)])].filter((t) => !excluded.includes(t)).sort();
  const schema = shapes
    .filter((t) => da[t] !== dbs[t])
    .map((table) => ({
      table,
      ...(da[table] ? { source: da[table] } : {}),
      ...(dbs[table] ? { target: dbs[table] } : {}),
    }));
  for (const s of schema)
    report(
      'DIFFERS',
      pairName,
      `verify: schema of ${s.table}: ${s.source ?? 'missing'} on ${f.source.node}; ${s.target ?? 'missing'} ` +
        `on ${f.target.node}`,
    );

  const seqName = (q: { schema: string; name: string }) => `${q.schema}.${q.name}`;
  const sequences = [...new Set([...qa, ...qb].map(seqName))].sort().map((sequence) => {
    const x = qa.find((q) => seqName(q) === sequence);
    const y = qb.find((q) => seqName(q) === sequence);
    const pick = (q: Seq | undefined) => (q ? { increment: q.increment, next: q.next } : undefined);
    return {
      sequence,
      ...(x ? { source: pick(x) } : {}),
      ...(y ? { target: pick(y) } : {}),
      disjoint: !!x && !!y && disjoint(x, y),
    };
  });
  for (const s of sequences.filter((q) => !q.disjoint)) {
    const at = (q: Seq | undefined, node: string) =>
      q ? `step ${q.increment} next ${q.next} on ${node}` : `missing on ${node}`;
    report(
      'DIFFERS',
      pairName,
      `verify: sequence ${s.sequence} can hand out the same values on both nodes ` +
        `(${at(s.source, f.source.node)}, ${at(s.target, f.target.node)})`,
    );
  }

  const tables = settled?.tables ?? (contents ? names.length : shapes.length);
  const result = { tables, differences, schema, sequences };
  const since = o.lastComparedAt ? `compared ${o.lastComparedAt}, nothing changed since` : 'nothing changed';
  const what = contents
    ? `${tables} tables identical (rows and checksums${settled ? ', rows in flight awaited' : ''})`
    : `${tables} tables (contents not compared: ${since}; pgduplex verify compares them)`;
  if (!verified(result)) return result;
  // Recorded against each journal: the next run that changes nothing may then skip the row compare.
  if (contents) await Promise.all([f.source, f.target].map((n) => agents.call(n.side, verifiedSetAction, db)));
  report(
    'ok',
    `${f.source.node}+${f.target.node}`,
    `verify: ${what}, same schema, ${sequences.length} sequences disjoint`,
  );
  return result;
}
