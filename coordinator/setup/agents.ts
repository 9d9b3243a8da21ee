import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
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

/** How long a call waits out an agent still busy with an earlier run's action (e.g. a backup a killed CLI started). */
export interface BusyPolicy {
  onWait?: (message: string) => void;
  waitMs?: number;
  pollMs?: number;
}

/** The two agents as the CLI on this node reaches them (the peer only through the local agent). */
export function agentsVia(socket: string, busy: BusyPolicy = {}): Agents {
  const once = async <T>(side: Side, action: string, params: unknown, opts: { timeoutMs?: number; onProgress?: (m: string) => void }) => {
    const o = { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.onProgress ? { onProgress: (e: { message: string }) => opts.onProgress?.(e.message) } : {}) };
    if (side === 'local') return (await callAgent(socket, raw(action), params, o)) as T;
    // The relay waits as long as we do, and we a little longer, so the peer's own timeout error reaches us first.
    return (await callAgent(socket, peerCallAction, { action, params, timeoutMs: o.timeoutMs }, { ...o, timeoutMs: o.timeoutMs + 5000 })) as T;
  };
  return {
    async call<T>(side: Side, action: string, params: unknown, opts: { timeoutMs?: number; onProgress?: (m: string) => void } = {}) {
      const deadline = Date.now() + (busy.waitMs ?? 6 * 3_600_000);
      let told = '';
      for (;;) {
        try {
          return await once<T>(side, action, params, opts);
        } catch (err) {
          if (!(err instanceof PgduplexError) || err.code !== 'BUSY' || Date.now() > deadline) throw err;
          if (err.message !== told) busy.onWait?.(`waiting: ${side === 'local' ? 'this' : 'the peer'} agent says ${err.message}`);
          told = err.message;
          await new Promise((r) => setTimeout(r, busy.pollMs ?? 2000));
        }
      }
    },
  };
}
