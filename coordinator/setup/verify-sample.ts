import { tablesDiffAction } from '../../shared/protocol/data.js';
import type { Agents } from './agents.js';
import type { PairFacts } from './steps.js';

type Bucket = { bucket: number; rows: number; sum: string };
type KeyRow = { key: string; hash: string };

/** One key that differs between the nodes, and how. */
export interface DifferingKey {
  key: string;
  how: string;
}

const MODULUS = 64;
const MAX_BUCKETS = 4;

/** The keys that differ in one table, in up to `maxBuckets` differing buckets; `complete` when none was left out. */
export interface KeyDifferences {
  keys: DifferingKey[];
  complete: boolean;
}

/**
 * The keys that differ in one table: both nodes checksum the table in key-hash buckets in parallel, and
 * only the keys of the first `maxBuckets` differing buckets are fetched and compared.
 */
export async function differingKeys(
  agents: Agents,
  f: PairFacts,
  table: string,
  o: { maxBuckets: number; max: number },
): Promise<KeyDifferences> {
  const [schema = 'public', name = table] = table.includes('.') ? table.split('.') : ['public', table];
  const base = { database: f.database, schema, table: name, modulus: MODULUS };
  const opts = { timeoutMs: 3_600_000 };
  const [a, b] = await Promise.all([
    agents.call(f.source.side, tablesDiffAction, base, opts) as Promise<Bucket[]>,
    agents.call(f.target.side, tablesDiffAction, base, opts) as Promise<Bucket[]>,
  ]);
  const sig = (xs: Bucket[]) => new Map(xs.map((x) => [x.bucket, `${x.rows}:${x.sum}`]));
  const [sa, sb] = [sig(a), sig(b)];
  const differing = [...new Set([...sa.keys(), ...sb.keys()])]
    .filter((k) => sa.get(k) !== sb.get(k))
    .sort((x, y) => x - y);
  const buckets = differing.slice(0, o.maxBuckets);
  if (buckets.length === 0) return { keys: [], complete: true };
  const keyParams = { ...base, buckets, limit: 2000 };
  const [ka, kb] = await Promise.all([
    agents.call(f.source.side, tablesDiffAction, keyParams, opts) as Promise<KeyRow[]>,
    agents.call(f.target.side, tablesDiffAction, keyParams, opts) as Promise<KeyRow[]>,
  ]);
  const [ma, mb] = [new Map(ka.map((r) => [r.key, r.hash])), new Map(kb.map((r) => [r.key, r.hash]))];
  // A side cut off at the limit has not listed its keys beyond its last one: compare only below that.
  const cut = [ka, kb].filter((k) => k.length >= keyParams.limit).map((k) => k[k.length - 1]?.key ?? '');
  const upTo = cut.length > 0 ? (cut.sort()[0] ?? '') : undefined;
  const keys: DifferingKey[] = [];
  let complete = upTo === undefined && buckets.length === differing.length;
  for (const key of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    if (upTo !== undefined && key > upTo) break;
    const x = ma.get(key);
    const y = mb.get(key);
    if (x === y) continue;
    if (keys.length >= o.max) {
      complete = false;
      break;
    }
    keys.push({
      key,
      how:
        x === undefined ? `only on ${f.target.node}` : y === undefined ? `only on ${f.source.node}` : 'content differs',
    });
  }
  return { keys, complete };
}

/** A sample of keys that differ in one table, from a few differing buckets. */
export async function sampleDifferingKeys(
  agents: Agents,
  f: PairFacts,
  table: string,
  max = 5,
): Promise<DifferingKey[]> {
  return (await differingKeys(agents, f, table, { maxBuckets: MAX_BUCKETS, max })).keys;
}
