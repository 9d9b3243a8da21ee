import { z } from 'zod';
import { defineAction } from '../../shared/protocol/actions.js';
import { peerCallAction } from '../../shared/protocol/control.js';
import { callAgent } from '../agent-client.js';

/** Which of the two agents a step runs on, from the point of view of the node the CLI runs on. */
export type Side = 'local' | 'peer';

/** Calls an action by name on either agent: locally over the socket, or relayed to the peer. */
export interface Agents {
  call<T = unknown>(side: Side, action: string, params: unknown, opts?: { timeoutMs?: number; onProgress?: (m: string) => void }): Promise<T>;
}

const raw = (name: string) => defineAction({ name, mutates: false, params: z.unknown(), result: z.unknown() });

/** The two agents as the CLI on this node reaches them (the peer only through the local agent). */
export function agentsVia(socket: string): Agents {
  return {
    async call<T>(side: Side, action: string, params: unknown, opts: { timeoutMs?: number; onProgress?: (m: string) => void } = {}) {
      const o = { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.onProgress ? { onProgress: (e: { message: string }) => opts.onProgress?.(e.message) } : {}) };
      if (side === 'local') return (await callAgent(socket, raw(action), params, o)) as T;
      return (await callAgent(socket, peerCallAction, { action, params }, o)) as T;
    },
  };
}
