import { peerUnpairAction } from '../../shared/protocol/actions.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** The peer unpaired: forget it here too, close our port for it, then its sessions. */
export const peerUnpairHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: peerUnpairAction,
    run: async () => ({ removed: (await s.peers.unpair(false, { deferClose: true })).removed !== undefined }),
  });
