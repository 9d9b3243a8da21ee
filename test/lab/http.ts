import { nodeExec, outsiderExec } from './exec.js';
import type { NodeName } from './constants.js';

/** An HTTP answer seen from inside the lab. */
export interface LabHttp {
  status: number;
  body: string;
  /** curl's exit code: 0 for any HTTP answer, 28 for a timeout, 7 for a refused connection. */
  curlExit: number;
}

function parse(stdout: string, exitCode: number): LabHttp {
  const cut = stdout.lastIndexOf('\n');
  const status = Number(stdout.slice(cut + 1));
  return { status: Number.isFinite(status) ? status : 0, body: stdout.slice(0, Math.max(cut, 0)), curlExit: exitCode };
}

const curl = (url: string, extra: readonly string[], maxSec: number) => [
  'curl',
  '-sS',
  '-m',
  String(maxSec),
  '-o',
  '-',
  '-w',
  '\n%{http_code}',
  ...extra,
  url,
];

/** Why: the agent's port is reached from inside a node exactly as a local monitor would. */
export async function nodeHttp(
  node: NodeName,
  url: string,
  extra: readonly string[] = [],
  maxSec = 10,
): Promise<LabHttp> {
  const r = await nodeExec(node, curl(url, extra, maxSec), { reject: false });
  return parse(r.stdout, r.exitCode);
}

/**
 * Why: the full /health and /metrics are the root-only socket's (and monitoring hosts'); TCP gives others a
 * verdict.
 */
export async function nodeSocketHttp(node: NodeName, path: string, maxSec = 10): Promise<LabHttp> {
  const r = await nodeExec(node, curl(`http://localhost${path}`, ['--unix-socket', AGENT_SOCKET], maxSec), {
    reject: false,
  });
  return parse(r.stdout, r.exitCode);
}

const AGENT_SOCKET = '/run/pgduplex/agent.sock';

/** Why: what an attacker on the same segment sees of a node. */
export async function outsiderHttp(url: string, maxSec = 3): Promise<LabHttp> {
  const r = await outsiderExec(curl(url, [], maxSec), { reject: false });
  return parse(r.stdout, r.exitCode);
}

/** Why: state changes (a stopped PostgreSQL, a restarted unit) settle asynchronously; poll, don't sleep. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await probe();
  }
  return last;
}
