// Running commands inside a node (nsenter into its systemd) or in the outsider namespace.
import { LAB, LAB_UP_HINT, type NodeName } from './constants.js';
import { containerInitOf, findLabNspawns, isContainerInit, parentOf } from './proc.js';
import { readState } from './state.js';
import { LabError, tryRun, type RunResult } from './sh.js';

/** Options for nodeExec / outsiderExec. */
export interface ExecOptions {
  /** Written to the command's stdin (the way to pass secrets and SQL). */
  input?: string | Buffer;
  /** Throw on a non-zero exit (default true). */
  reject?: boolean;
  /** Kill after this long (default 120 s). */
  timeoutMs?: number;
  /** Extra environment variables (not visible in argv). */
  env?: Record<string, string>;
}

/** Why: commands inside a node get a clean Debian environment, not the test runner's. */
const NODE_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  TERM: process.env.TERM ?? 'dumb',
};

/** Why: the nsenter target must be the live systemd of that node, never a recycled pid. */
export function nodePid(node: NodeName): number {
  const s = readState()?.nodes[node];
  if (s && isContainerInit(s.pid) && parentOf(s.pid) === s.nspawnPid) return s.pid;
  // State missing or stale: find the node from /proc (e.g. state file deleted by hand).
  for (const n of findLabNspawns()) {
    if (n.node !== node) continue;
    const pid = containerInitOf(n.pid);
    if (pid !== null) return pid;
  }
  throw new LabError(`node ${node} is not running (${LAB_UP_HINT})`);
}

/** Why: the CLI's shell/exec run nsenter with inherited stdio, so they need the raw prefix. */
export function nodeEnterArgv(node: NodeName): string[] {
  return ['nsenter', '-t', String(nodePid(node)), '-a'];
}

/** Why: the CLI's shell/exec want the same clean environment as nodeExec. */
export function nodeEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { ...NODE_ENV, ...extra };
}

function check(what: string, argv: readonly string[], r: RunResult, reject: boolean): RunResult {
  if (reject && r.exitCode !== 0) {
    const out = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-20).join('\n');
    throw new LabError(`${what}: ${argv.join(' ')} failed (exit ${r.exitCode}): ${out}`);
  }
  return r;
}

/** Why: the one way tests act inside a node: all its namespaces, its root, its systemd. */
export async function nodeExec(node: NodeName, argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new LabError('nodeExec: empty argv');
  const [file, ...args] = [...nodeEnterArgv(node), ...argv] as [string, ...string[]];
  const r = await tryRun(file, args, {
    cleanEnv: true,
    env: nodeEnv(opts.env),
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  return check(`node ${node}`, argv, r, opts.reject ?? true);
}

/** Why: the outsider has no rootfs; it runs host binaries inside its own network namespace. */
export async function outsiderExec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new LabError('outsiderExec: empty argv');
  const r = await tryRun('ip', ['netns', 'exec', LAB.outsider.netns, ...argv], {
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  return check('outsider x', argv, r, opts.reject ?? true);
}
