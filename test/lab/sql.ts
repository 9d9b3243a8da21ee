import type { NodeName } from './constants.js';
import { nodeExec } from './exec.js';

/** Runs SQL on a node as the OS user postgres (SQL on stdin), returning psql's unaligned, tuples-only output. */
export async function nodeSql(node: NodeName, text: string, database = 'fusionpbx', timeoutMs = 600_000): Promise<string> {
  const r = await nodeExec(node, ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', '-'], { input: text, timeoutMs });
  return r.stdout.trim();
}

/** pg_postmaster_start_time on a node: unchanged means PostgreSQL was not restarted. */
export const postmasterStart = (node: NodeName): Promise<string> => nodeSql(node, 'select pg_postmaster_start_time()');

/** Like nodeSql, but a failure (e.g. PostgreSQL restarting under a running setup) reads as undefined: for polling. */
export async function trySql(node: NodeName, text: string, database = 'fusionpbx'): Promise<string | undefined> {
  const r = await nodeExec(node, ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', '-'], { input: text, reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}
