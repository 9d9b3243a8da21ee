import { readFile } from 'node:fs/promises';
import { poll } from '../../shared/poll.js';
import type { Cluster } from './cluster.js';
import { queryJson, runPsql } from './psql.js';
import { baseValue, locateTarget, readOwned, type FileRow } from './settings-file.js';
import { SETTING_SPECS, type ServerSetting } from '../../shared/protocol/settings-spec.js';

/** What the running server says about pgduplex's settings and the configuration files it would read. */
export interface ServerState {
  major: number;
  settings: Map<string, ServerSetting>;
  files: FileRow[];
}

const NAMES = `array[${[...SETTING_SPECS.keys()].map((n) => `'${n}'`).join(',')}]`;

/** pg_file_settings parses the files as they are on disk now, so it sees a new drop-in before a reload. */
export const SERVER_STATE_SQL = `select json_build_object(
  'versionNum', current_setting('server_version_num')::int,
  'settings', coalesce((select json_agg(json_build_object('name', name, 'setting', setting,
      'display', current_setting(name), 'unit', unit,
      'vartype', vartype, 'context', context, 'minVal', min_val, 'maxVal', max_val, 'enumvals', enumvals,
      'bootVal', boot_val, 'resetVal', reset_val,
      'pendingRestart', pending_restart)) from pg_settings where name = any(${NAMES})), '[]'),
  'files', coalesce((select json_agg(json_build_object('sourcefile', sourcefile, 'sourceline', sourceline,
      'seqno', seqno, 'name', name,
      'setting', setting, 'applied', applied, 'error', error) order by seqno) from pg_file_settings
      where name is null or name = any(${NAMES}) or error is not null), '[]'))`;

/** Reads pg_settings and pg_file_settings for the allowlisted names in one psql run. */
export async function readServerState(cluster: Cluster, timeoutMs: number): Promise<ServerState> {
  const raw = await queryJson<{ versionNum: number; settings: ServerSetting[]; files: FileRow[] }>(
    cluster,
    SERVER_STATE_SQL,
    {
      timeoutMs,
    },
  );
  return {
    major: Math.floor(raw.versionNum / 10000),
    settings: new Map(raw.settings.map((s) => [s.name, s])),
    files: raw.files,
  };
}

/** Asks the postmaster to re-read its configuration (it does so asynchronously). */
export async function reloadConf(cluster: Cluster, timeoutMs: number): Promise<void> {
  await runPsql(cluster, 'select pg_reload_conf()', { timeoutMs });
}

/** Polling bounds for waiting on a reload to show in new sessions. */
export interface SettleOptions {
  timeoutMs: number;
  settleMs: number;
  intervalMs?: number;
}

/**
 * The postmaster handles SIGHUP on its own schedule: polls fresh sessions until `done` holds for
 * the state they see, or the settle time runs out; returns the last state either way.
 */
export async function waitForState(
  cluster: Cluster,
  done: (s: ServerState) => boolean,
  opts: SettleOptions,
): Promise<{ state: ServerState; settled: boolean }> {
  let last!: ServerState;
  return poll<{ state: ServerState; settled: boolean }>(
    async () => {
      last = await readServerState(cluster, opts.timeoutMs);
      return done(last) ? { state: last, settled: true } : undefined;
    },
    { timeoutMs: opts.settleMs, intervalMs: opts.intervalMs ?? 150, expired: () => ({ state: last, settled: false }) },
  );
}

/**
 * What the configuration gives each managed setting without pgduplex's own drop-in or block: the
 * ground a re-run decides on, since the running values already hold what pgduplex set before.
 */
export async function readBaseSettings(cluster: Cluster, timeoutMs: number): Promise<Record<string, string>> {
  const state = await readServerState(cluster, timeoutMs);
  const target = locateTarget(cluster.configDir, await readFile(`${cluster.configDir}/postgresql.conf`, 'utf8'));
  const text = await readFile(target.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const { range } = readOwned(target, text);
  const out: Record<string, string> = {};
  for (const name of SETTING_SPECS.keys()) {
    const value = baseValue(state.files, target, range, name, state.settings.get(name));
    if (value !== undefined) out[name] = value;
  }
  return out;
}
