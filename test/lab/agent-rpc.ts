import type { ErrorJSON } from '../../shared/errors.js';
import type { NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { waitFor } from './http.js';

/** An action's answer as the local CLI would get it. */
export type AgentAnswer<T> = { ok: true; result: T } | { ok: false; error: ErrorJSON };

/**
 * Runs an action on a node's real, packaged agent through its root-only socket (curl inside the
 * node), exactly as the coordinator will; progress lines are skipped, the last line is the answer.
 */
export async function agentRpc<T = unknown>(
  node: NodeName,
  action: string,
  params: unknown = {},
): Promise<AgentAnswer<T>> {
  const body = JSON.stringify({ action, params });
  const r = await nodeExec(
    node,
    [
      'curl',
      '-sS',
      '--max-time',
      '120',
      '--unix-socket',
      '/run/pgduplex/agent.sock',
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '--data-binary',
      '@-',
      'http://agent/v1/rpc',
    ],
    { input: body },
  );
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as AgentAnswer<T>;
}

/** Like agentRpc, but throws with the agent's error when the action failed. */
export async function agentOk<T = unknown>(node: NodeName, action: string, params: unknown = {}): Promise<T> {
  const a = await agentRpc<T>(node, action, params);
  if (!a.ok) throw new Error(`${action} failed on ${node}: ${a.error.code}: ${a.error.message}`);
  return a.result;
}

/** Waits until a node's agent answers on its socket: a restart returns before the new process listens. */
export async function agentUp(node: NodeName, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `the agent on ${node}`,
    () => agentRpc(node, 'whoami').catch(() => undefined),
    (r) => r?.ok === true,
    timeoutMs,
  );
}
