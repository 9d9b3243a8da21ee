import type { ReplicationLogError } from '../../shared/replication.js';

/** A command that repairs a problem: where to run it, what it is, and what it costs. */
export interface Remedy {
  node: string;
  command: string;
  effect: string;
}

/** The origin under which a local-only repair runs: subscriptions with origin = none never receive such changes. */
export const LOCAL_ORIGIN = 'pgduplex_local';

const quoteIdent = (name: string) => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Quotes one shell word for bash: double quotes when nothing in it is special there, else single quotes. */
export function shellArg(s: string): string {
  return /^[^"$`\\!]*$/.test(s) ? `"${s}"` : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command a root operator runs on a node to execute SQL in the replicated database. */
export function psqlCommand(database: string, sql: string): string {
  return `runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -d ${database} -c ${shellArg(sql)}`;
}

/** `(a, b)=(1, x)` from a DETAIL line as column/value pairs; undefined when it cannot be split unambiguously. */
export function parseKey(key: string): Array<[string, string]> | undefined {
  const m = /^\((.*)\)=\((.*)\)$/.exec(key);
  if (!m) return undefined;
  const cols = (m[1] ?? '').split(', ');
  const vals = (m[2] ?? '').split(', ');
  if (cols.length !== vals.length || cols.some((c) => c === '')) return undefined;
  return cols.map((c, i) => [c, vals[i] ?? '']);
}

/** `public.jobs` (as the server log prints it, unquoted) as a safely quoted qualified name. */
const qualified = (table: string) => table.split('.').map(quoteIdent).join('.');

const UNIQUE =
  /duplicate key value violates unique constraint|conflict=(insert_exists|update_exists|multiple_unique_conflicts)/;

/**
 * The two ways out of an apply error on `on` (the subscriber) for a transaction from `from`: skip the
 * transaction there, or, for a unique key conflict, remove the local row without sending that delete
 * back, so the peer's row arrives.
 */
export function conflictRemedies(
  err: ReplicationLogError & { finishLsn: string },
  subscription: string,
  database: string,
  on: string,
  from: string,
): Remedy[] {
  const skip: Remedy = {
    node: on,
    command: psqlCommand(database, `ALTER SUBSCRIPTION ${quoteIdent(subscription)} SKIP (lsn = '${err.finishLsn}')`),
    effect:
      `${on} skips ${from}'s whole transaction (finished at ${err.finishLsn}) and keeps its own row: that ` +
      `transaction's changes never reach ${on}; check with "pgduplex verify" afterwards`,
  };
  const pairs = err.key ? parseKey(err.key) : undefined;
  if (!err.table || !pairs || !UNIQUE.test(err.message)) return [skip];
  const where = pairs.map(([c, v]) => `${c} = ${quoteLiteral(v)}`).join(' AND ');
  const sql =
    `SELECT pg_replication_origin_create('${LOCAL_ORIGIN}') WHERE NOT EXISTS (SELECT FROM ` +
    `pg_replication_origin WHERE roname = '${LOCAL_ORIGIN}'); SELECT ` +
    `pg_replication_origin_session_setup('${LOCAL_ORIGIN}'); DELETE FROM ${qualified(err.table)} WHERE ${where}`;
  const fix: Remedy = {
    node: on,
    command: psqlCommand(database, sql),
    effect:
      `${on} deletes its own row ${err.key} in ${err.table} without sending the delete to ${from}; ${from}'s ` +
      `transaction then applies, so ${on} gets ${from}'s row`,
  };
  return [skip, fix];
}
