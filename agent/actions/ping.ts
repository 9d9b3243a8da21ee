import { pingAction } from '../../shared/protocol/actions.js';
import { VERSION } from '../../shared/version.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Answers who and what this agent is; the peer's round trip is measured with it. */
export const pingHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: pingAction,
    run: async () => ({ node: s.node, version: VERSION, time: new Date().toISOString() }),
  });
