import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { peersListAction } from '../../shared/protocol/control.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** The paired peer, with a live ping that runs on it to prove reachability. */
export const peersListHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: peersListAction,
    run: async () => {
      const peer = s.trust.peer;
      if (!peer) return [];
      const probe = await s.peers.probe();
      return [
        {
          node: peer.node,
          address: peer.address,
          port: peer.port,
          fingerprint: formatFingerprint(peer.fingerprint),
          pairedAt: peer.pairedAt,
          reachable: probe.reachable,
          ...(probe.rttMs === undefined ? {} : { rttMs: probe.rttMs }),
          ...(probe.version === undefined ? {} : { peerVersion: probe.version }),
          ...(probe.error === undefined ? {} : { error: probe.error }),
          allows: { databases: [...s.pair.databases], schemas: [...s.pair.schemas] },
        },
      ];
    },
  });
