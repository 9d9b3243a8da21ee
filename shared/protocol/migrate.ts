import { z } from 'zod';
import { firstRefusal, mustBe, pairDatabase, pairSchema, type PeerRule } from './peer-policy.js';
import { defineAction } from './actions.js';
import { defineChange } from './change.js';
import { plainIdentifier as ident } from './identifier.js';
import { subscriptionName } from '../replication.js';

/** Reads and changes of the replicated schema only. */
const schemaOfPair: PeerRule<{ database: string; schema: string }> = (p, pair) =>
  firstRefusal(pairDatabase('database', p.database, pair), pairSchema('schema', p.schema, pair));

/** A name as the catalog holds it (any characters a migration may use), bounded. */
const catalogName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[^\u0000-\u001f\u007f]+$/, { message: 'must hold no control characters' });

/** One column of a table as `schema.model` reads it; text fields are the catalog's own rendering. */
export const columnModelSchema = z.strictObject({
  name: catalogName,
  type: z.string().max(200),
  notNull: z.boolean(),
  default: z.string().max(2000).nullable(),
  /** The default calls something not immutable (uuid_generate_v4(), now(), nextval()): each node would differ. */
  volatileDefault: z.boolean(),
  /** `a` always / `d` by default for identity columns, '' otherwise. */
  identity: z.string().max(1),
  /** `s` for a stored generated column, '' otherwise. */
  generated: z.string().max(1),
});
export type ColumnModel = z.infer<typeof columnModelSchema>;

/** One table: its columns in order and its replica identity (`d`, `f`, `i` with the index, `n`). */
export const tableModelSchema = z.strictObject({
  name: catalogName,
  columns: z.array(columnModelSchema).max(1600),
  replicaIdentity: z.string().max(1),
  identityIndex: catalogName.nullable(),
});
export type TableModel = z.infer<typeof tableModelSchema>;

/** What a migration can make in a schema, as both nodes' catalogs render it, so two models compare as data. */
export const schemaModelSchema = z.strictObject({
  schema: ident,
  tables: z.array(tableModelSchema).max(10_000),
  constraints: z
    .array(
      z.strictObject({
        table: catalogName,
        name: catalogName,
        type: z.string().max(1),
        def: z.string().max(4000),
      }),
    )
    .max(100_000),
  /** Indexes that back no constraint. */
  indexes: z.array(z.strictObject({ table: catalogName, name: catalogName, def: z.string().max(4000) })).max(100_000),
  sequences: z
    .array(
      z.strictObject({
        name: catalogName,
        type: z.string().max(40),
        increment: z.number(),
        /** `table.column` for a serial's sequence; null for a free-standing one (identity sequences are left out). */
        ownedBy: z.string().max(130).nullable(),
      }),
    )
    .max(100_000),
  /** Other objects (views, functions, types, triggers) by kind and name, so a difference in them can be named. */
  others: z.array(z.string().max(300)).max(100_000),
});
export type SchemaModel = z.infer<typeof schemaModelSchema>;

/** The shape of one schema (tables, columns, defaults, keys, indexes, sequences), to diff the two nodes'. */
export const schemaModelAction = defineAction({
  name: 'schema.model',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident, schema: ident.default('public') }),
  result: schemaModelSchema,
  peer: schemaOfPair,
});

/** The objects a carried change creates, by name, so its undo drops exactly those. */
export const carriedObjectsSchema = z.strictObject({
  tables: z.array(catalogName).max(10_000).default([]),
  columns: z
    .array(z.strictObject({ table: catalogName, column: catalogName }))
    .max(100_000)
    .default([]),
  indexes: z.array(catalogName).max(100_000).default([]),
  constraints: z
    .array(z.strictObject({ table: catalogName, name: catalogName }))
    .max(100_000)
    .default([]),
  sequences: z.array(catalogName).max(100_000).default([]),
});
export type CarriedObjects = z.output<typeof carriedObjectsSchema>;

/**
 * `schema-carry`: another node's schema change, replayed here in one transaction as the unprivileged import role
 * (the tables it alters lent to that role meanwhile), checked before it is kept; new tables are held against the
 * local application's writes until `schema.release`, so their first rows come from the node that made them.
 */
export const schemaCarryChange = defineChange({
  name: 'schema-carry',
  params: z.strictObject({
    database: ident,
    schema: ident.default('public'),
    /** The DDL, as SQL text: never trusted, run restricted as the import role. */
    script: z
      .string()
      .min(1)
      .max(4 * 1024 * 1024),
    /** Existing tables the script alters or references: lent to the import role while it runs. */
    lend: z.array(catalogName).max(10_000).default([]),
    /** New tables held against this node's own writes until released. */
    hold: z.array(catalogName).max(10_000).default([]),
    creates: carriedObjectsSchema,
    /** Words for the plan, one per operation. */
    summary: z.array(z.string().max(500)).min(1).max(10_000),
  }),
  record: z.strictObject({ database: ident, schema: ident, creates: carriedObjectsSchema }),
  // Teardown keeps the schema: it is the application's, whichever node made it first.
  teardown: 'keep',
  noun: 'carried schema change',
  peer: schemaOfPair,
});

/** Lets the local application write to tables `schema-carry` held, once their first rows have arrived. */
export const schemaReleaseAction = defineAction({
  name: 'schema.release',
  mutates: true,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident, schema: ident.default('public') }),
  result: z.strictObject({ released: z.array(z.string()) }),
  peer: schemaOfPair,
});

/** Tables still held by `schema-carry` (a migrate cut short leaves them so; status names them). */
export const schemaHeldAction = defineAction({
  name: 'schema.held',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident, schema: ident.default('public') }),
  result: z.array(z.string()),
  peer: schemaOfPair,
});

/**
 * Rewrites columns with their own values (`UPDATE t SET c = c`): the rows change nowhere here, but replicate, so the
 * other node takes this node's values of a column each node filled on its own (a volatile default).
 */
export const columnsTouchAction = defineAction({
  name: 'columns.touch',
  mutates: true,
  callers: ['local', 'peer'],
  params: z.strictObject({
    database: ident,
    schema: ident.default('public'),
    table: catalogName,
    columns: z.array(catalogName).min(1).max(1600),
    /** Only rows where one of the columns is null (the other node's own rows are left alone). */
    onlyNull: z.boolean().default(false),
  }),
  result: z.strictObject({ rows: z.number() }),
  peer: schemaOfPair,
});

/**
 * `ALTER SUBSCRIPTION … REFRESH PUBLICATION`: subscribes to tables the peer's publication gained; `copyData` copies
 * their rows first (then changes made before the copy are in it, none is skipped).
 */
export const subscriptionRefreshAction = defineAction({
  name: 'subscription.refresh',
  mutates: true,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident, name: ident, copyData: z.boolean() }),
  result: z.strictObject({ added: z.array(z.string()) }),
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      mustBe('name', p.name, subscriptionName(pair.peerNode), 'the subscription to the peer'),
    ),
});

/** `repl-grant`: SELECT for the pair's role on new tables, which the other node's first copy of them reads through. */
export const replGrantChange = defineChange({
  name: 'repl-grant',
  params: z.strictObject({
    database: ident,
    schema: ident.default('public'),
    tables: z.array(catalogName).min(1).max(10_000),
  }),
  record: z.strictObject({ database: ident, schema: ident, tables: z.array(catalogName) }),
  teardown: 'normal',
  noun: 'grants to the replication role',
  peer: schemaOfPair,
});
