import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import type { Cluster } from './cluster.js';

/** The transient unit pg_upgradecluster runs in: it outlives the agent, so a killed agent's upgrade still finishes. */
export const UPGRADE_UNIT = 'pgduplex-pg-upgrade';

/** Where one upgrade run writes pg_upgradecluster's output and its exit code. */
export interface RunFiles {
  log: string;
  rc: string;
}

const systemctl = (args: string[], timeoutMs: number) =>
  execa('systemctl', args, { reject: false, timeout: timeoutMs, env: { LANG: 'C' } });

/** Whether an upgrade run is under way (started by this agent or by one killed since). */
export async function upgradeRunning(timeoutMs: number): Promise<boolean> {
  const r = await systemctl(['is-active', '--quiet', `${UPGRADE_UNIT}.service`], timeoutMs);
  return r.exitCode === 0;
}

/** The exit code the last run recorded, or null when none finished since the run files were cleared. */
export async function lastExit(files: RunFiles): Promise<number | null> {
  const text = await readFile(files.rc, 'utf8').catch(() => null);
  const n = text === null ? NaN : Number(text.trim());
  return Number.isInteger(n) ? n : null;
}

/**
 * Starts `pg_upgradecluster -v TO -m upgrade [--link] FROM NAME` in the transient unit; its output goes to the log, its
 * exit code to the rc file (no secret is in its argv: the cluster's own configuration is all it reads).
 */
export async function startUpgrade(from: Cluster, to: number, link: boolean, files: RunFiles, timeoutMs: number) {
  await rm(files.rc, { force: true });
  await systemctl(['reset-failed', `${UPGRADE_UNIT}.service`], timeoutMs);
  const script = 'pg_upgradecluster -v "$1" -m upgrade $2 "$3" "$4" >>"$5" 2>&1; echo $? >"$6"';
  const r = await execa(
    'systemd-run',
    [
      `--unit=${UPGRADE_UNIT}`,
      '--description=pgduplex: PostgreSQL major upgrade',
      '--collect',
      '--quiet',
      '--setenv=LANG=C.UTF-8',
      '/bin/sh',
      '-c',
      script,
      UPGRADE_UNIT,
      String(to),
      link ? '--link' : '',
      from.version,
      from.name,
      files.log,
      files.rc,
    ],
    { reject: false, timeout: timeoutMs },
  );
  if (r.exitCode !== 0)
    throw new PgduplexError(
      'PG_UPGRADE_FAILED',
      `could not start the upgrade unit: ${(r.stderr || r.message || '').trim()}`,
      {
        hint: `check "systemctl status ${UPGRADE_UNIT}"; an upgrade needs systemd`,
      },
    );
}

/** Waits for the run to end and answers its exit code (null when it ended without writing one: killed). */
export async function waitUpgrade(files: RunFiles, limitMs: number, tick: () => void): Promise<number | null> {
  await poll(async () => ((await upgradeRunning(10_000)) ? (tick(), undefined) : true), {
    timeoutMs: limitMs,
    intervalMs: 1000,
    expired: () => {
      throw new PgduplexError('TIMEOUT', `the upgrade did not finish within ${Math.round(limitMs / 60_000)} min`, {
        hint: `it runs on in ${UPGRADE_UNIT}.service (see ${files.log}); re-run pgduplex pg-upgrade to wait for it`,
      });
    },
  });
  return lastExit(files);
}

/** The last lines of the run's log, for an error that says why pg_upgradecluster stopped. */
export async function logTail(files: RunFiles, lines = 12): Promise<string> {
  const text = await readFile(files.log, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a postgresql-common tool (pg_dropcluster, pg_createcluster) as root in a transient unit: the agent's own
 * sandbox (ProtectSystem=strict) keeps /var/lib/postgresql read-only, where pg_dropcluster's removal would fail without
 * an error. A failure names the tool. Not for starting a server: `pg_ctlcluster start` run here has PID 1 as its
 * parent, so it does not hand over to systemd and the server ends with this unit (startCluster starts one).
 */
export async function clusterTool(argv: [string, ...string[]], timeoutMs: number): Promise<void> {
  const r = await execa(
    'systemd-run',
    ['--wait', '--pipe', '--quiet', '--collect', '--service-type=exec', '--setenv=LANG=C', '--', ...argv],
    { reject: false, timeout: timeoutMs, stdin: 'ignore' },
  );
  if (r.exitCode !== 0)
    throw new PgduplexError('PG_UPGRADE_FAILED', `${argv.join(' ')} failed: ${(r.stderr || r.stdout || '').trim()}`);
}

/** The cause pg_upgrade wrote in its own logs (pg_upgradecluster keeps them and names the directory in its output). */
export async function upgradeCause(files: RunFiles): Promise<string | undefined> {
  const text = await readFile(files.log, 'utf8').catch(() => '');
  const dir = [...text.matchAll(/pg_upgrade output scripts are in (\/\S+)/g)].at(-1)?.[1];
  if (dir === undefined || !dir.startsWith('/var/log/postgresql/')) return undefined;
  const found = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const name of found.filter((n) => /\.(log|txt)$/.test(n)).sort()) {
    const body = await readFile(join(dir, name), 'utf8').catch(() => '');
    const line = body.split('\n').find((l) => /\b(ERROR|FATAL):|has not consumed|must be/.test(l));
    if (line) return `${line.trim()} (${join(dir, name)})`;
  }
  return undefined;
}
