import { z } from 'zod';

/** Subscriptions pgduplex creates are named `pgduplex_from_<node>`; their slots on the peer carry the same name. */
export const PGDUPLEX_OBJECT_PREFIX = 'pgduplex_from_';

/** The prefix as a LIKE pattern (its underscores escaped), for SQL that tells pgduplex's objects from others. */
export const PGDUPLEX_OBJECT_LIKE = `${PGDUPLEX_OBJECT_PREFIX.replace(/_/g, '\\_')}%`;

/** The replication role both nodes share; its password lives only in the agents' passfiles. */
export const REPL_ROLE = 'pgduplex_repl';

/** The publication on each node. */
export const PUBLICATION = 'pgduplex_pub';

/** Subscriptions are named after the node they read from; the slot on that node carries the same name. */
export const subscriptionName = (fromNode: string): string =>
  `${PGDUPLEX_OBJECT_PREFIX}${fromNode.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;

/** A replication slot on this node (the peer's subscription reads this node's changes through it). */
export const slotSchema = z.object({
  name: z.string(),
  database: z.string().nullable(),
  active: z.boolean(),
  walStatus: z.string().nullable(),
  /** How far the subscriber has confirmed it holds this node's changes. */
  confirmedFlushLsn: z.string().nullable(),
  retainedBytes: z.number().nullable(),
  /** WAL written here that the subscriber has not confirmed (current LSN − confirmed_flush_lsn). */
  lagBytes: z.number().nullable(),
  safeWalSizeBytes: z.number().nullable(),
  /** Seconds since the slot was last used (PostgreSQL 17+ `inactive_since`); null while active. */
  inactiveSeconds: z.number().nullable(),
  replayLagSeconds: z.number().nullable(),
  senderState: z.string().nullable(),
});

/** A subscription on this node (it applies the peer's changes), with its worker, counters and sync states. */
export const subscriptionSchema = z.object({
  name: z.string(),
  database: z.string(),
  enabled: z.boolean(),
  slot: z.string().nullable(),
  /** Its replication origin (`pg_<oid>`), as apply errors in the server log name it. */
  origin: z.string(),
  /** The last remote commit LSN applied here; a failing transaction finishes past it. */
  originLsn: z.string().nullable(),
  skipLsn: z.string().nullable(),
  workerPid: z.number().nullable(),
  syncWorkers: z.number(),
  lastMessageSendTime: z.string().nullable(),
  lastMessageReceiptTime: z.string().nullable(),
  applyErrors: z.number(),
  /** Table sync errors: `sync_error_count`, which 19 renamed `sync_table_error_count`. */
  syncErrors: z.number(),
  /** PostgreSQL 19's sequence sync errors (`sync_seq_error_count`); null before 19, absent from an older agent. */
  syncSeqErrors: z.number().nullable().optional(),
  /** PostgreSQL 18's per-type conflict counters (`insert_exists`, ...; 19 adds `update_deleted`); null before 18. */
  conflicts: z.record(z.string(), z.number()).nullable(),
  /** PostgreSQL 19's `retain_dead_tuples` option (needed to count `update_deleted`); null before 19. */
  retainDeadTuples: z.boolean().nullable().optional(),
  /** Tables by `srsubstate` (r = ready); null for a subscription of another database than the one asked. */
  tables: z.record(z.string(), z.number()).nullable(),
  /** The tables it applies changes to (`schema.table`); null as `tables`, absent from an older agent. */
  relations: z.array(z.string()).nullable().optional(),
});

/** One node's replication facts, read in one query; the coordinator and the agent's health share it. */
export const replicationSnapshotSchema = z.object({
  serverVersionNum: z.number(),
  walLsn: z.string(),
  /** The tables pgduplex's publication carries in the database asked (`schema.table`); absent from an older agent. */
  published: z.array(z.string()).optional(),
  maxSlotWalKeepSize: z.string(),
  /** null when unlimited (-1). */
  maxSlotWalKeepSizeBytes: z.number().nullable(),
  slots: z.array(slotSchema),
  senders: z.array(
    z.object({
      application: z.string(),
      client: z.string().nullable(),
      state: z.string(),
      lagBytes: z.number().nullable(),
      replyTime: z.string().nullable(),
    }),
  ),
  subscriptions: z.array(subscriptionSchema),
});

/** The latest replication error the server log shows for one subscription. */
export const replicationLogErrorSchema = z.object({
  at: z.string(),
  subscription: z.string().nullable(),
  origin: z.string().nullable(),
  worker: z.enum(['apply', 'sync']).nullable(),
  message: z.string(),
  detail: z.string().nullable(),
  table: z.string().nullable(),
  key: z.string().nullable(),
  finishLsn: z.string().nullable(),
});

/**
 * The replication section of /health: this node's subscriptions (incoming) and its slots (outgoing, where lag is
 * measured).
 */
export const replicationHealthSchema = z.object({
  ok: z.boolean(),
  reason: z.string().optional(),
  subscriptions: z.array(
    z.object({
      name: z.string(),
      from: z.string().nullable(),
      enabled: z.boolean(),
      streaming: z.boolean(),
      applyErrors: z.number(),
      syncErrors: z.number(),
      /** null before PostgreSQL 19 (no sequence sync); absent from an older agent. */
      syncSeqErrors: z.number().nullable().optional(),
      /** null before PostgreSQL 18 (no conflict counters). */
      conflicts: z.record(z.string(), z.number()).nullable(),
      lastMessageAt: z.string().nullable(),
    }),
  ),
  slots: z.array(
    z.object({
      name: z.string(),
      to: z.string().nullable(),
      active: z.boolean(),
      lagBytes: z.number().nullable(),
      lagSeconds: z.number().nullable(),
      retainedBytes: z.number().nullable(),
      walStatus: z.string().nullable(),
      safeWalSizeBytes: z.number().nullable(),
    }),
  ),
});
export type ReplicationHealth = z.infer<typeof replicationHealthSchema>;

export type ReplicationSnapshot = z.infer<typeof replicationSnapshotSchema>;
export type SlotFacts = z.infer<typeof slotSchema>;
export type SubscriptionFacts = z.infer<typeof subscriptionSchema>;
export type ReplicationLogError = z.infer<typeof replicationLogErrorSchema>;

/** Lag of a slot in seconds: PostgreSQL's replay lag while connected, else how long nothing was confirmed. */
export function slotLagSeconds(s: SlotFacts): number | null {
  if (s.lagBytes === 0) return 0;
  if (s.active) return s.replayLagSeconds;
  return s.inactiveSeconds;
}

/** Orders two LSNs (`X/Y`, hex): negative when a is before b. */
export function compareLsn(a: string, b: string): number {
  const n = (l: string) => {
    const [hi = '0', lo = '0'] = l.split('/');
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  };
  const d = n(a) - n(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}
