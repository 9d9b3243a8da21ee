import { execa } from 'execa';
import { access } from 'node:fs/promises';
import { poll } from '../../shared/poll.js';
import { PgduplexError } from '../../shared/errors.js';
import type { Cluster } from './cluster.js';
import { runPsql } from './psql.js';

/** How the cluster is controlled: its systemd unit when systemd is PID 1, else pg_ctlcluster. */
export type Via = 'systemd' | 'pg_ctlcluster';

/** Whether systemd runs this system (sd_booted's test); the marker path is a parameter for tests. */
export const controlVia = (marker = '/run/systemd/system'): Promise<Via> =>
  access(marker).then(
    () => 'systemd' as const,
    () => 'pg_ctlcluster' as const,
  );

/** The parts of `systemctl show` that tell a start's progress. */
export interface UnitState {
  active: string;
  sub: string;
  invocation: string;
  /** The start command ended in failure and nothing runs for the unit any more. */
  startFailed: boolean;
  /** systemd's Result; "resources" means the unit's process could not even be spawned. */
  result: string;
}

/**
 * Reads `systemctl show -p ActiveState,SubState,InvocationID,ControlPID,ExecStart` output. Debian's
 * postgresql@ unit ignores ExecStart's exit code (`ExecStart=-...`) and has no start timeout, so a
 * server that refuses to start leaves the unit "activating" for ever: the failed ExecStart is the sign.
 */
export function parseUnitShow(text: string): UnitState {
  const props = new Map(
    text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  const exec = /code=(\w+) ; status=(\d+)/.exec(props.get('ExecStart') ?? '');
  const ended = exec !== null && (exec[1] !== 'exited' || exec[2] !== '0');
  return {
    active: props.get('ActiveState') ?? '',
    sub: props.get('SubState') ?? '',
    invocation: props.get('InvocationID') ?? '',
    startFailed: ended && (props.get('ControlPID') ?? '0') === '0',
    result: props.get('Result') ?? '',
  };
}

type Run = {
  failed: boolean;
  timedOut: boolean;
  code?: string | undefined;
  exitCode?: number | undefined;
  stdout: string;
  stderr: string;
};

async function tool(file: string, args: string[], timeoutMs: number): Promise<Run> {
  const r = await execa(file, args, {
    stdin: 'ignore',
    cwd: '/',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    extendEnv: false,
    timeout: timeoutMs,
    reject: false,
  });
  if (r.code === 'ENOENT')
    throw new PgduplexError('TOOL_MISSING', `${file} is not installed`, {
      hint: file === 'systemctl' ? 'install systemd' : 'install postgresql-common',
    });
  return r;
}

/** Why a tool run failed, in one line; undefined when it did not. */
export function failure(file: string, verb: string, r: Run, timeoutMs: number): string | undefined {
  if (r.timedOut) return `${file} ${verb} did not finish within ${timeoutMs} ms`;
  if (!r.failed) return undefined;
  const said =
    (r.stderr || r.stdout)
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? `exit ${r.exitCode}`;
  return `${file} ${verb} failed: ${said.slice(0, 300)}`;
}

async function unitState(service: string, timeoutMs: number): Promise<UnitState> {
  const r = await tool(
    'systemctl',
    ['show', service, '-p', 'ActiveState,SubState,InvocationID,ControlPID,ExecStart,Result'],
    timeoutMs,
  );
  const why = failure('systemctl', 'show', r, timeoutMs);
  if (why) throw new PgduplexError('PG_UNREACHABLE', why, { hint: `check "systemctl status ${service}"` });
  return parseUnitShow(r.stdout);
}

/** Whether PostgreSQL answers `select 1` now. */
export async function accepts(cluster: Cluster, timeoutMs: number): Promise<boolean> {
  try {
    await runPsql(cluster, 'select 1', { timeoutMs });
    return true;
  } catch (err) {
    if (err instanceof PgduplexError && err.code === 'PG_UNREACHABLE') return false;
    throw err;
  }
}

/** How long a unit may sit "inactive" after a queued restart before that counts as a failed start. */
const INACTIVE_GRACE_MS = 10_000;

/** How a start went: up, or why not and whether it surely failed (as opposed to still starting). */
export type StartOutcome = { up: true } | { up: false; definite: boolean; reason: string };

/** Limits: each tool call, and the whole start until connections are accepted. */
export interface StartOptions {
  timeoutMs: number;
  startTimeoutMs: number;
  intervalMs?: number;
}

/** Reloads the configuration through the unit or pg_ctlcluster; a failure is thrown. */
export async function reloadCluster(cluster: Cluster, via: Via, timeoutMs: number): Promise<void> {
  const [file, args] =
    via === 'systemd'
      ? ['systemctl', ['--no-ask-password', 'reload', cluster.service]]
      : ['pg_ctlcluster', [cluster.version, cluster.name, 'reload']];
  const why = failure(file, 'reload', await tool(file, args, timeoutMs), timeoutMs);
  if (why)
    throw new PgduplexError(
      'PG_UNREACHABLE',
      `PostgreSQL ${cluster.version}/${cluster.name} was not reloaded: ${why}`,
      { hint: `check "systemctl status ${cluster.service}"` },
    );
}

/**
 * Restarts or starts the cluster and waits until it accepts connections. Under systemd the job is
 * queued (--no-block) and watched, and a start that failed is stopped so its job does not hang.
 */
export async function startCluster(
  verb: 'restart' | 'start',
  cluster: Cluster,
  via: Via,
  opts: StartOptions,
): Promise<StartOutcome> {
  const deadline = Date.now() + opts.startTimeoutMs;
  const probe = Math.min(5000, opts.timeoutMs);
  const intervalMs = opts.intervalMs ?? 250;
  if (via === 'pg_ctlcluster') {
    const why = failure(
      'pg_ctlcluster',
      verb,
      await tool('pg_ctlcluster', [cluster.version, cluster.name, verb], opts.startTimeoutMs),
      opts.startTimeoutMs,
    );
    if (why) return { up: false, definite: !why.includes('did not finish'), reason: why };
    return poll<StartOutcome>(async () => ((await accepts(cluster, probe)) ? { up: true } : undefined), {
      timeoutMs: deadline - Date.now(),
      intervalMs,
      expired: () => ({
        up: false,
        definite: false,
        reason: `not accepting connections within ${opts.startTimeoutMs} ms`,
      }),
    });
  }
  let before = await unitState(cluster.service, opts.timeoutMs);
  let queuedVerb = verb;
  let retried = false;
  const queue = async (v: 'restart' | 'start') =>
    failure(
      'systemctl',
      v,
      await tool('systemctl', ['--no-ask-password', '--no-block', v, cluster.service], opts.timeoutMs),
      opts.timeoutMs,
    );
  const queued = await queue(verb);
  if (queued) return { up: false, definite: true, reason: queued };
  let st = before;
  let inactiveSince: number | undefined;
  const watch = async (): Promise<StartOutcome | undefined> => {
    st = await unitState(cluster.service, opts.timeoutMs);
    // A restart passes through "inactive" with the old invocation or none at all: only a new, non-empty
    // invocation id says that the start this call queued has begun.
    const fresh =
      (st.invocation !== '' && st.invocation !== before.invocation) ||
      (queuedVerb === 'start' && before.active === 'active');
    // "inactive" between the stop and the start of a restart is normal; only one that lasts is a failure.
    inactiveSince = st.active === 'inactive' ? (inactiveSince ?? Date.now()) : undefined;
    const stuckInactive = inactiveSince !== undefined && Date.now() - inactiveSince > INACTIVE_GRACE_MS;
    if (
      (st.active === 'failed' && (fresh || before.active !== 'failed')) ||
      stuckInactive ||
      (fresh && st.active === 'activating' && st.startFailed)
    ) {
      // A start that never ran PostgreSQL (systemd could not spawn it, or the queued start never began) is
      // retried once: nothing of PostgreSQL's own failed, so the same start may well succeed.
      if (!retried && (st.result === 'resources' || (stuckInactive && !fresh))) {
        retried = true;
        before = st;
        queuedVerb = 'start';
        inactiveSince = undefined;
        const again = await queue('start');
        return again ? { up: false, definite: true, reason: again } : undefined;
      }
      await tool('systemctl', ['--no-ask-password', 'stop', cluster.service], opts.timeoutMs);
      const why =
        st.result && st.result !== 'success'
          ? ` (systemd result: ${st.result}${retried ? ', also on a second start' : ''})`
          : retried
            ? ' (also on a second start)'
            : '';
      return { up: false, definite: true, reason: `${cluster.service} did not start${why}` };
    }
    if (st.active === 'active' && (fresh || queuedVerb === 'start') && (await accepts(cluster, probe)))
      return { up: true };
    return undefined;
  };
  return poll(watch, {
    timeoutMs: deadline - Date.now(),
    intervalMs,
    expired: () => ({
      up: false,
      definite: false,
      reason:
        `not accepting connections within ${opts.startTimeoutMs} ms ` +
        `(${cluster.service} is ${st.active}/${st.sub})`,
    }),
  });
}
