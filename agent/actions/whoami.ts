import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { whoamiAction } from '../../shared/protocol/control.js';
import { VERSION } from '../../shared/version.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** This agent's name, fingerprint and port: what the operator reads to the other screen. */
export const whoamiHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: whoamiAction,
    callers: ['local'],
    run: async () => ({ node: s.node, fingerprint: formatFingerprint(s.identity.fingerprint), version: VERSION, port: s.port }),
  });
