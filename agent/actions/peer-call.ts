import { peerCallAction } from '../../shared/protocol/control.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Relays one call from the local CLI to the paired agent; the peer validates and dispatches it. */
export const peerCallHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: peerCallAction,
    run: async ({ action, params, timeoutMs }, ctx) => {
      const session = await s.peers.session();
      return session.rpc.callRaw(action, params ?? {}, {
        timeoutMs: timeoutMs ?? s.peers.callTimeoutMs,
        onProgress: (m) => ctx.progress(m),
      });
    },
  });
