import { poll } from '../../shared/poll.js';
import { PgduplexError } from '../../shared/errors.js';
import { parseHostAddress } from '../firewall/address.js';
import type { Cluster } from './cluster.js';
import type { HbaBlockSpec } from './hba-block.js';
import { queryJson, runPsql, type PsqlOptions } from './psql.js';

/** What pg_hba edits need from the running server: where the file is, whether hostssl can match. */
export interface HbaServerState {
  hbaFile: string;
  ssl: boolean;
  loadTime: string;
}

/** One row of pg_hba_file_rules: PostgreSQL's own parse of the file as it is on disk now. */
export interface HbaFileRule {
  file: string;
  line: number;
  type: string | null;
  database: string[] | null;
  user: string[] | null;
  address: string | null;
  netmask: string | null;
  method: string | null;
  error: string | null;
}

/** Reads hba_file, ssl and the config load time from the server (the file's real path, not a guess). */
export function hbaServerState(cluster: Cluster, opts: PsqlOptions): Promise<HbaServerState> {
  return queryJson<HbaServerState>(
    cluster,
    `select json_build_object('hbaFile', current_setting('hba_file'), 'ssl', current_setting('ssl') = 'on',
       'loadTime', pg_conf_load_time()::text)`,
    opts,
  );
}

/** Parses the file on disk with PostgreSQL's parser (pg_hba_file_rules); nothing is loaded by this. */
export function hbaFileRules(cluster: Cluster, opts: PsqlOptions): Promise<HbaFileRule[]> {
  return queryJson<HbaFileRule[]>(
    cluster,
    `select coalesce(json_agg(json_build_object('file', file_name, 'line', line_number, 'type', type,
       'database', database, 'user', user_name, 'address', address, 'netmask', netmask, 'method', auth_method,
       'error', error) order by file_name, line_number), '[]')
     from pg_hba_file_rules`,
    opts,
  );
}

/** The errors PostgreSQL reports for the file, as "file line N: error" (any one stops a reload). */
export function hbaErrors(rules: readonly HbaFileRule[]): string[] {
  return rules.filter((r) => r.error !== null).map((r) => `${r.file} line ${r.line}: ${r.error}`);
}

/**
 * Checks that the lines placed at `ruleLines` are exactly the block's rules as PostgreSQL reads them;
 * returns what is wrong (empty: verified).
 */
export function verifyBlockRules(
  rules: readonly HbaFileRule[],
  hbaFile: string,
  ruleLines: readonly number[],
  spec: HbaBlockSpec,
): string[] {
  const databases = spec.physical ? [spec.database, 'replication'] : [spec.database];
  const netmask = spec.peer.family === 4 ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  return ruleLines.flatMap((line, i) => {
    const r = rules.find((x) => x.file === hbaFile && x.line === line);
    if (!r) return [`line ${line}: PostgreSQL does not read a rule there`];
    if (r.error !== null) return [`line ${line}: ${r.error}`];
    const ok =
      r.type === 'hostssl' &&
      same(r.database, [databases[i] ?? '']) &&
      same(r.user, [spec.role]) &&
      sameAddress(r.address, spec.peer.address) &&
      r.netmask === netmask &&
      r.method === 'scram-sha-256';
    return ok
      ? []
      : [
          `line ${line}: PostgreSQL reads ` +
            JSON.stringify({
              type: r.type,
              database: r.database,
              user: r.user,
              address: r.address,
              netmask: r.netmask,
              method: r.method,
            }),
        ];
  });
}

/**
 * Reloads the configuration and waits until a new session sees the new load time: the postmaster
 * forks sessions only after finishing the reload, so from then on connections use the new pg_hba.
 */
export async function reloadAndWait(cluster: Cluster, opts: PsqlOptions & { waitMs?: number }): Promise<void> {
  const before = (await hbaServerState(cluster, opts)).loadTime;
  await runPsql(cluster, 'select pg_reload_conf()', opts);
  await poll(async () => (await hbaServerState(cluster, opts)).loadTime !== before || undefined, {
    timeoutMs: opts.waitMs ?? 10_000,
    intervalMs: 50,
    expired: () => {
      throw new PgduplexError(
        'TIMEOUT',
        `PostgreSQL ${cluster.version}/${cluster.name} did not reload its configuration`,
        {
          hint: `check "systemctl status ${cluster.service}" and the PostgreSQL log`,
        },
      );
    },
  });
}

function same(a: string[] | null, b: string[]): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameAddress(seen: string | null, want: string): boolean {
  try {
    return seen !== null && parseHostAddress(seen).address === want;
  } catch {
    return false;
  }
}
