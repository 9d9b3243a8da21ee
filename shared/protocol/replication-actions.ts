import { z } from 'zod';
import { anyRequest, firstRefusal, mustBe, pairDatabase, peerAddress, tablesIn } from './peer-policy.js';
import { defineAction } from './actions.js';
import { defineChange } from './change.js';
import { plainIdentifier as ident, ipText, tcpPort as port } from './identifier.js';
import { PUBLICATION, replicationLogErrorSchema, replicationSnapshotSchema, subscriptionName } from '../replication.js';

const tableRef = z.strictObject({ schema: ident, name: ident });

/** `publication`: exactly the wanted tables (all, or a list without the ones no replica identity can serve). */
export const publicationChange = defineChange({
  name: 'publication',
  params: z.strictObject({
    database: ident,
    name: ident,
    tables: z.union([
      z.strictObject({ all: z.literal(true) }),
      z.strictObject({ list: z.array(tableRef).min(1).max(10_000) }),
    ]),
  }),
  // `before`: the publication as it was read (exists, all, tables), put back by the undo.
  record: z.strictObject({ database: ident, name: ident, before: z.unknown() }),
  teardown: 'normal',
  noun: 'publication',
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      mustBe('name', p.name, PUBLICATION, "pgduplex's publication"),
      'list' in p.tables ? tablesIn('tables.list', p.tables.list, pair) : undefined,
    ),
});

const subscriptionOptions = z
  .strictObject({
    origin: z.enum(['none', 'any']).default('none'),
    copyData: z.boolean().default(false),
    binary: z.boolean().default(false),
    streaming: z.enum(['off', 'on', 'parallel']).default('parallel'),
    disableOnError: z.boolean().default(false),
    enabled: z.boolean().default(true),
    passwordRequired: z.boolean().default(true),
    runAsOwner: z.boolean().default(false),
    /** PostgreSQL 17+: keep the slot usable after a failover of the publisher; ignored on 16. */
    failover: z.boolean().default(false),
  })
  .default({
    origin: 'none',
    copyData: false,
    binary: false,
    streaming: 'parallel',
    disableOnError: false,
    enabled: true,
    passwordRequired: true,
    runAsOwner: false,
    failover: false,
  });

/** `subscription`: reads the peer's publication; its password comes from the passfile, never the conninfo. */
export const subscriptionChange = defineChange({
  name: 'subscription',
  params: z.strictObject({
    database: ident,
    name: ident,
    publication: ident,
    peer: z.strictObject({ host: ipText, port, database: ident, user: ident }),
    sslmode: z.enum(['require', 'verify-ca', 'verify-full']).default('require'),
    options: subscriptionOptions,
  }),
  record: z.strictObject({ database: ident, name: ident, before: z.unknown() }),
  teardown: 'first',
  noun: 'subscription',
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      mustBe('name', p.name, subscriptionName(pair.peerNode), 'the subscription to the peer'),
      mustBe('publication', p.publication, PUBLICATION, "pgduplex's publication"),
      peerAddress('peer.host', p.peer.host, pair),
      mustBe('peer.user', p.peer.user, pair.role, "the pair's role"),
      pairDatabase('peer.database', p.peer.database, pair),
      mustBe('options.origin', p.options.origin, 'none', 'none (no change is sent back where it came from)'),
      mustBe('options.passwordRequired', p.options.passwordRequired, true, 'true'),
      mustBe('options.runAsOwner', p.options.runAsOwner, false, 'false'),
    ),
});

/** `sequences`: every sequence steps by `step` from its own `slot`, so the two nodes never hand out the same key. */
export const sequencesChange = defineChange({
  name: 'sequences',
  params: z
    .strictObject({
      database: ident,
      step: z.number().int().min(2).max(8),
      slot: z.number().int().min(1),
      exclude: z.array(z.string().max(130)).max(1000).optional(),
    })
    .refine((p) => p.slot <= p.step, { message: 'slot must be between 1 and step', path: ['slot'] }),
  record: z.strictObject({
    database: ident,
    before: z.array(z.strictObject({ s: z.string(), n: z.string(), inc: z.number() })),
  }),
  teardown: 'normal',
  noun: 'sequence increments',
  peer: (p, pair) => pairDatabase('database', p.database, pair),
});

/**
 * `replica-identity`: for tables without a key, REPLICA IDENTITY FULL, or USING INDEX a unique index over NOT NULL
 * columns when one is named, so their updates and deletes replicate.
 */
export const replicaIdentityChange = defineChange({
  name: 'replica-identity',
  params: z.strictObject({
    database: ident,
    tables: z
      .array(tableRef.extend({ index: ident.optional() }))
      .min(1)
      .max(10_000),
  }),
  record: z.strictObject({
    database: ident,
    before: z.array(z.strictObject({ s: z.string(), n: z.string(), identity: z.string(), idx: z.string().nullable() })),
  }),
  teardown: 'normal',
  noun: 'replica identities',
  peer: (p, pair) => firstRefusal(pairDatabase('database', p.database, pair), tablesIn('tables', p.tables, pair)),
});

/** `subscription-drop`: teardown's own drop; its undo would re-create what teardown removed, so it is kept. */
export const subscriptionDropChange = defineChange({
  name: 'subscription-drop',
  params: z.strictObject({ database: ident, name: ident }),
  record: z.strictObject({ database: ident, name: ident, before: z.unknown() }),
  teardown: 'keep',
  noun: 'dropped subscription',
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      mustBe('name', p.name, subscriptionName(pair.peerNode), 'the subscription to the peer'),
    ),
});

/** `slot-drop`: releases the WAL a gone peer's slot holds; the caller names the bytes it gives up. */
export const slotDropChange = defineChange({
  name: 'slot-drop',
  params: z.strictObject({
    slot: ident,
    confirmRetainedBytesAtLeast: z.number().int().min(0),
    terminate: z.boolean().default(false),
  }),
  record: z.strictObject({ slot: ident, database: z.string().nullable() }),
  teardown: 'keep',
  noun: 'dropped slot',
  peer: (p, pair) => mustBe('slot', p.slot, subscriptionName(pair.node), "the slot the peer's subscription reads"),
});

/** One node's replication facts (slots, senders, subscriptions) in one query. */
export const replicationStatusAction = defineAction({
  name: 'replication.status',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident.optional() }),
  result: replicationSnapshotSchema,
  peer: (p, pair) => (p.database === undefined ? undefined : pairDatabase('database', p.database, pair)),
});

/** The latest replication error the server log shows per subscription. */
export const replicationErrorsAction = defineAction({
  name: 'replication.errors',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({}),
  result: z.array(replicationLogErrorSchema),
  peer: anyRequest,
});

/** Each subscription's table sync states and workers, to wait on and to report. */
export const subscriptionStatusAction = defineAction({
  name: 'subscription.status',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident }),
  result: z.array(
    z.strictObject({
      name: z.string(),
      enabled: z.boolean(),
      tables: z.record(z.string(), z.number()),
      workers: z.number(),
      tableBytes: z.number(),
      finishedCopy: z.array(z.strictObject({ table: z.string(), slot: z.string() })),
    }),
  ),
  peer: (p, pair) => pairDatabase('database', p.database, pair),
});

/** Every sequence with its increment, next value and the largest value its column can hold. */
export const sequencesStatusAction = defineAction({
  name: 'sequences.status',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident }),
  result: z.array(
    z.strictObject({
      schema: z.string(),
      name: z.string(),
      increment: z.number(),
      next: z.number(),
      columnMax: z.number(),
      owner: z.string().nullable(),
    }),
  ),
  peer: (p, pair) => pairDatabase('database', p.database, pair),
});
