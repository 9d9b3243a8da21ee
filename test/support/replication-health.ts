import type { ReplicationHealth } from '../../shared/replication.js';

type SubscriptionHealth = ReplicationHealth['subscriptions'][number];
type SlotHealth = ReplicationHealth['slots'][number];

/** Node a's subscription to b as /health reports it, streaming without errors; tests override what they need. */
export const subscriptionHealth = (over: Partial<SubscriptionHealth> = {}): SubscriptionHealth => ({
  name: 'pgduplex_from_b',
  from: 'b',
  enabled: true,
  streaming: true,
  applyErrors: 0,
  syncErrors: 0,
  conflicts: null,
  lastMessageAt: null,
  ...over,
});

/** Node a's slot that b reads, as /health reports it, active and caught up; tests override what they need. */
export const slotHealth = (over: Partial<SlotHealth> = {}): SlotHealth => ({
  name: 'pgduplex_from_a',
  to: 'b',
  active: true,
  lagBytes: 0,
  lagSeconds: 0,
  retainedBytes: 0,
  walStatus: 'reserved',
  safeWalSizeBytes: 0,
  ...over,
});
