import type { Agents } from './agents.js';
import type { Report } from './runner.js';
import type { PairFacts } from './steps.js';

/** Tables whose row count or content checksum differ between the nodes. */
export interface VerifyResult {
  tables: number;
  differences: Array<{ table: string; source?: { rows: number }; target?: { rows: number } }>;
}

type Sums = Array<{ table: string; rows: number; sum: string }>;

/** Compares row counts and content checksums of every table, computed on both nodes in parallel. */
export async function verifyPair(agents: Agents, f: PairFacts, report: Report, excluded: readonly string[] = []): Promise<VerifyResult> {
  const [a, b] = await Promise.all([agents.call<Sums>(f.source.side, 'table-checksums', { database: f.database }, { timeoutMs: 3_600_000 }), agents.call<Sums>(f.target.side, 'table-checksums', { database: f.database }, { timeoutMs: 3_600_000 })]);
  for (const t of excluded) report('note', `${f.source.node}/${f.target.node}`, `verify: ${t} is not replicated (excluded), not compared`);
  const names = [...new Set([...a, ...b].map((t) => t.table))].filter((t) => !excluded.includes(t)).sort();
  const differences = names.flatMap((table) => {
    const x = a.find((t) => t.table === table);
    const y = b.find((t) => t.table === table);
    if (x && y && x.rows === y.rows && x.sum === y.sum) return [];
    return [{ table, ...(x ? { source: { rows: x.rows } } : {}), ...(y ? { target: { rows: y.rows } } : {}) }];
  });
  for (const d of differences) report('DIFFERS', `${f.source.node}/${f.target.node}`, `verify: ${d.table}: ${d.source?.rows ?? 'missing'} rows on ${f.source.node}, ${d.target?.rows ?? 'missing'} on ${f.target.node}`);
  if (differences.length === 0) report('ok', `${f.source.node}+${f.target.node}`, `verify: ${names.length} tables identical (rows and checksums)`);
  return { tables: names.length, differences };
}
