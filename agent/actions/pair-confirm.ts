import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { pairConfirmAction } from '../../shared/protocol/control.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** The operator's yes or no to the node waiting to pair: local only, never the joiner's to give. */
export const pairConfirmHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: pairConfirmAction,
    run: async ({ fingerprint, accept }) => {
      const joiner = s.peers.gate.decide(fingerprint, accept);
      return {
        node: joiner.node,
        address: joiner.address,
        fingerprint: formatFingerprint(joiner.fingerprint),
        accepted: accept,
      };
    },
  });
