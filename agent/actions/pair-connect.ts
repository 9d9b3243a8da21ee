import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { parseToken } from '../../shared/crypto/token.js';
import { pairConnectAction } from '../../shared/protocol/control.js';
import { parseHostAddress } from '../firewall/address.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Pairs with the agent that printed the token; on failure nothing stays open or stored. */
export const pairConnectHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: pairConnectAction,
    run: async ({ address, port, token }, ctx) => {
      const host = parseHostAddress(address);
      const parsed = parseToken(token);
      const onCheck = (check: string) =>
        ctx?.progress(`check code ${check}: the other node's operator confirms it there`);
      const { peer, check, firewallNote } = await s.peers.pairWith(host.address, port ?? s.port, parsed, onCheck);
      return {
        peer: {
          node: peer.node,
          address: peer.address,
          port: peer.port,
          fingerprint: formatFingerprint(peer.fingerprint),
          pairedAt: peer.pairedAt,
        },
        check,
        firewall: `port ${s.port}/tcp is open for ${host.address}${firewallNote ? ` (${firewallNote})` : ''}`,
      };
    },
  });
