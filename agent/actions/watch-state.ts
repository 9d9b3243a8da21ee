import { watchGetAction, watchRecordAction } from '../../shared/protocol/watch.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** `watch.get` / `watch.record`: the divergence watch's results, kept by this node and served in /metrics. */
export const watchHandlers = (s: AgentServices) => [
  defineHandler({ descriptor: watchGetAction, run: async () => s.watch.get() }),
  defineHandler({
    descriptor: watchRecordAction,
    run: async ({ state }) => {
      await s.watch.set(state);
      return { recorded: true };
    },
  }),
];
