import { z } from 'zod';
import { anyRequest, pairDatabase } from './peer-policy.js';
import { defineAction } from './actions.js';
import { plainIdentifier as ident } from './identifier.js';

/** The settings logical replication depends on, read from pg_settings of the managed cluster. */
export const REPLICATION_SETTINGS = [
  'wal_level',
  'max_wal_senders',
  'max_replication_slots',
  'max_worker_processes',
  'max_logical_replication_workers',
  'max_sync_workers_per_subscription',
  'max_slot_wal_keep_size',
  'idle_replication_slot_timeout',
  'track_commit_timestamp',
  'listen_addresses',
  'password_encryption',
  'ssl',
  'port',
] as const;

// `base`: what the configuration files give a setting pgduplex manages, leaving out pgduplex's own part.
const setting = z.strictObject({
  value: z.string(),
  unit: z.string().nullable(),
  source: z.string(),
  pendingRestart: z.boolean(),
  base: z.string().optional(),
});

/** `facts`: what the coordinator needs to know about a node before it plans anything. */
export const factsAction = defineAction({
  name: 'facts',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({}),
  result: z.strictObject({
    node: z.string(),
    /** The state-changing action the agent runs right now (e.g. a restart a killed CLI asked for). */
    busyWith: z.string().optional(),
    os: z.strictObject({ distro: z.string(), release: z.string(), codename: z.string(), kernel: z.string() }),
    systemd: z.boolean(),
    tools: z.record(z.string(), z.boolean()),
    addresses: z.array(
      z.strictObject({ interface: z.string(), address: z.string(), family: z.enum(['IPv4', 'IPv6']) }),
    ),
    clusters: z.array(
      z.strictObject({
        version: z.string(),
        name: z.string(),
        port: z.number(),
        configDir: z.string(),
        dataDir: z.string(),
        service: z.string(),
      }),
    ),
    postgresql: z.union([
      z.strictObject({
        ready: z.literal(true),
        cluster: z.string(),
        serverVersion: z.string(),
        serverVersionNum: z.number(),
        databases: z.array(z.string()),
        settings: z.record(z.string(), setting),
        disk: z.strictObject({
          data: z.strictObject({ path: z.string(), freeBytes: z.number() }),
          wal: z.strictObject({ path: z.string(), freeBytes: z.number() }),
        }),
      }),
      z.strictObject({ ready: z.literal(false), code: z.string(), reason: z.string() }),
    ]),
  }),
  peer: anyRequest,
});

/** Extensions as the replicated schema needs them: `uuid-ossp` has a hyphen, so names are not plain identifiers. */
export const extensionList = z
  .array(
    z.strictObject({
      name: z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,62}$/),
      schema: ident,
      version: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    }),
  )
  .max(64);

/** `hazards`: what would break once the database is published both ways, table by table. */
export const hazardsAction = defineAction({
  name: 'hazards',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident }),
  result: z.strictObject({
    noReplicaIdentity: z.array(z.strictObject({ table: z.string(), identity: z.string(), updates: z.number() })),
    fullIdentity: z.array(z.string()),
    sequenceKeys: z.array(z.strictObject({ sequence: z.string(), increment: z.number() })),
    unlogged: z.array(z.string()),
    largeObjects: z.number(),
    /** Size of the whole database, and of its logged tables' data (what an initial copy moves). */
    databaseBytes: z.number(),
    /** Column types with no binary send/receive: a binary initial copy would fail on them. */
    typesWithoutBinary: z.array(z.string()),
    tableBytes: z.number(),
    tables: z.array(z.string()),
    /** A schema import was cut short here (its temporary role is left): its tables were never checked. */
    unfinishedImport: z.boolean().optional(),
    /** Extensions the replicated tables need on the other node too: in a user schema, or used by an object. */
    extensions: extensionList,
  }),
  peer: (p, pair) => pairDatabase('database', p.database, pair),
});
