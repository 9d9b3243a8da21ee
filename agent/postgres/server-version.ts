import { PgduplexError } from '../../shared/errors.js';
import type { Cluster } from './cluster.js';
import { queryJson, type PsqlOptions } from './psql.js';

/** The oldest major pgduplex runs on: `origin = none` came with 16. */
export const OLDEST_MAJOR = 16;

/** The major a server_version_num names (170004 → 17); refuses what pgduplex cannot run on. */
export function pgMajor(versionNum: number): number {
  const major = Math.floor(versionNum / 10000);
  if (!Number.isInteger(versionNum) || major < OLDEST_MAJOR)
    throw new PgduplexError('REFUSED', `PostgreSQL ${major} is older than ${OLDEST_MAJOR}`, {
      hint: `pgduplex needs PostgreSQL ${OLDEST_MAJOR} or newer`,
    });
  return major;
}

const known = new Map<string, Promise<number>>();

/** A cluster is known by where it lives: a major upgrade makes a new one (new version directory and data). */
const clusterKey = (c: Cluster) => `${c.version}/${c.name}:${c.port}:${c.dataDir}`;

/** server_version_num, asked once per cluster: every versioned catalog query is chosen by it. */
export function serverVersionNum(cluster: Cluster, timeoutMs: number): Promise<number> {
  const key = clusterKey(cluster);
  let v = known.get(key);
  if (v === undefined) {
    v = queryJson<number>(cluster, `select current_setting('server_version_num')::int`, { timeoutMs });
    v.catch(() => known.delete(key));
    known.set(key, v);
  }
  return v;
}

/** Runs the JSON query written for this cluster's server version (never one to try and fall back from). */
export async function queryJsonFor<T>(
  cluster: Cluster,
  sqlFor: (versionNum: number) => string,
  opts: PsqlOptions,
): Promise<T> {
  return queryJson<T>(cluster, sqlFor(await serverVersionNum(cluster, opts.timeoutMs)), opts);
}
