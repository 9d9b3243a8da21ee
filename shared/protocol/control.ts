import { z } from 'zod';
import { anyRequest } from './peer-policy.js';
import { defineAction } from './actions.js';

const peerView = z.strictObject({
  node: z.string(),
  address: z.string(),
  port: z.number(),
  fingerprint: z.string(),
  pairedAt: z.string(),
});

/** Local-only actions the CLI asks its own agent for over the root-only socket; never the peer's. */
export const whoamiAction = defineAction({
  name: 'whoami',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({}),
  result: z.strictObject({
    node: z.string(),
    fingerprint: z.string(),
    version: z.string(),
    port: z.number(),
    peerAddress: z.string().optional(),
  }),
  peer: anyRequest,
});

/** A fingerprint as `pgduplex whoami` prints it (separators and case do not matter). */
const fingerprintText = z.string().regex(/^[A-Za-z2-7 -]{20,40}$/, {
  message: 'must be a fingerprint as "pgduplex whoami" prints it, e.g. A3WF-XKC5-AR3X-D2CI-Q7FV',
});

/**
 * Opens the pairing window for one address and returns the one-time token; with the joiner's
 * fingerprint given in advance it is trusted without a question, else only once `pair.confirm` says so.
 */
export const pairAcceptAction = defineAction({
  name: 'pair.accept',
  mutates: true,
  callers: ['local'],
  params: z.strictObject({ address: z.string(), fingerprint: fingerprintText.optional() }),
  result: z.strictObject({ token: z.string(), fingerprint: z.string(), expiresAt: z.string(), firewall: z.string() }),
});

/** This node's operator trusts (or refuses) the node waiting to pair, named by its fingerprint. */
export const pairConfirmAction = defineAction({
  name: 'pair.confirm',
  mutates: true,
  callers: ['local'],
  params: z.strictObject({ fingerprint: fingerprintText, accept: z.boolean() }),
  result: z.strictObject({ node: z.string(), address: z.string(), fingerprint: z.string(), accepted: z.boolean() }),
});

/** Where the pairing window stands, and the check value once a peer paired. */
export const pairStatusAction = defineAction({
  name: 'pair.status',
  mutates: false,
  callers: ['local'],
  params: z.strictObject({}),
  result: z.strictObject({
    window: z.strictObject({
      open: z.boolean(),
      expectedAddress: z.string().optional(),
      expiresAt: z.string().optional(),
      failures: z.number().optional(),
      locked: z.boolean().optional(),
      used: z.boolean().optional(),
      confirmedInAdvance: z.boolean().optional(),
    }),
    /** A node that proved the token and waits for this node's operator (pair.confirm). */
    waiting: z
      .strictObject({ node: z.string(), address: z.string(), fingerprint: z.string(), check: z.string() })
      .optional(),
    paired: z.strictObject({ node: z.string(), fingerprint: z.string(), check: z.string(), at: z.string() }).optional(),
  }),
});

/** Pairs with the agent at `address` using the token its operator printed. */
export const pairConnectAction = defineAction({
  name: 'pair.connect',
  mutates: true,
  callers: ['local'],
  params: z.strictObject({
    address: z.string(),
    port: z.number().int().min(1).max(65535).optional(),
    token: z.string().max(200),
  }),
  result: z.strictObject({ peer: peerView, check: z.string(), firewall: z.string() }),
});

/** The paired peer with reachability and round-trip time, measured with a call that runs there. */
export const peersListAction = defineAction({
  name: 'peers.list',
  mutates: false,
  callers: ['local'],
  params: z.strictObject({}),
  result: z.array(
    peerView.extend({
      reachable: z.boolean(),
      rttMs: z.number().optional(),
      peerVersion: z.string().optional(),
      error: z.string().optional(),
      /** What this node lets the peer replicate (agent.json `pair`). */
      allows: z.strictObject({ databases: z.array(z.string()), schemas: z.array(z.string()) }).optional(),
    }),
  ),
});

/** Removes the pairing on both sides (the peer is told first when it can be reached). */
export const unpairAction = defineAction({
  name: 'unpair',
  mutates: true,
  callers: ['local'],
  params: z.strictObject({}),
  result: z.strictObject({ removed: peerView.optional(), peerConfirmed: z.boolean() }),
});

/** Runs an action on the paired peer through this agent's session: how the coordinator reaches both nodes. */
export const peerCallAction = defineAction({
  name: 'peer.call',
  mutates: false,
  callers: ['local'],
  params: z.strictObject({
    action: z.string().min(1).max(64),
    params: z.unknown().optional(),
    /** How long the caller will wait for the peer's answer (a backup of a big database takes a while). */
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(6 * 3_600_000)
      .optional(),
  }),
  result: z.unknown(),
});
