import { z } from 'zod';
import { firstRefusal, mustBe, peerAddress } from './peer-policy.js';
import { defineChange } from './change.js';

const portSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  purpose: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
});

/** `firewall`: accepts the peer's address on the given ports in pgduplex's own chain, persisted across reboots. */
export const firewallChange = defineChange({
  name: 'firewall',
  params: z.strictObject({ peer: z.string().max(64), ports: z.array(portSchema).min(1).max(4) }),
  record: z.strictObject({
    added: z.array(z.strictObject({ address: z.string(), port: z.number(), purpose: z.string() })),
  }),
  teardown: 'normal',
  noun: 'firewall rules',
  peer: (p, pair) =>
    firstRefusal(
      peerAddress('peer', p.peer, pair),
      ...p.ports.map((x) => mustBe('ports', x.port, pair.pgPort, "this node's PostgreSQL port")),
    ),
});

/**
 * `monitoring-firewall`: opens the agent port for one of agent.json's monitoringHosts (a host or a network);
 * only the agent itself asks for it, at start-up, from its own config — never the peer.
 */
export const monitoringFirewallChange = defineChange({
  name: 'monitoring-firewall',
  callers: ['local'],
  params: z.strictObject({ source: z.string().max(64), port: z.number().int().min(1).max(65535) }),
  record: z.strictObject({ added: z.array(z.strictObject({ source: z.string(), port: z.number() })) }),
  teardown: 'normal',
  noun: 'monitoring firewall rules',
});
