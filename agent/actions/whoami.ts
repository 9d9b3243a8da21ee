import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { whoamiAction } from '../../shared/protocol/control.js';
import { VERSION } from '../../shared/version.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** This agent's name, fingerprint, port and the address it knows its peer by (setup needs both ends'). */
export const whoamiHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: whoamiAction,
    run: async () => ({
      node: s.node,
      fingerprint: formatFingerprint(s.identity.fingerprint),
      version: VERSION,
      port: s.port,
      ...(s.trust.peer ? { peerAddress: s.trust.peer.address } : {}),
    }),
  });
