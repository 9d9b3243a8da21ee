import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { unpairAction } from '../../shared/protocol/control.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Removes the pairing on both sides, closes the sessions and the port this node opened for the peer. */
export const unpairHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: unpairAction,
    run: async () => {
      const { removed, peerConfirmed } = await s.peers.unpair(true);
      return {
        ...(removed
          ? {
              removed: {
                node: removed.node,
                address: removed.address,
                port: removed.port,
                fingerprint: formatFingerprint(removed.fingerprint),
                pairedAt: removed.pairedAt,
              },
            }
          : {}),
        peerConfirmed,
      };
    },
  });
