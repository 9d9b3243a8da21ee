import type { NodeName } from './constants.js';
import { nodePsql } from './psql.js';

/** Runs SQL on a node as the OS user postgres (SQL on stdin), returning psql's unaligned, tuples-only output. */
export async function nodeSql(node: NodeName, text: string, database?: string, timeoutMs = 600_000): Promise<string> {
  return (await nodePsql(node, text, { timeoutMs, ...(database ? { database } : {}) })).stdout.trim();
}

/** pg_postmaster_start_time on a node: unchanged means PostgreSQL was not restarted. */
export const postmasterStart = (node: NodeName): Promise<string> => nodeSql(node, 'select pg_postmaster_start_time()');

/** Like nodeSql, but a failure (e.g. PostgreSQL restarting under a running setup) reads as undefined: for polling. */
export async function trySql(node: NodeName, text: string, database?: string): Promise<string | undefined> {
  const r = await nodePsql(node, text, { reject: false, ...(database ? { database } : {}) });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}
