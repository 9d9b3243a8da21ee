import { z } from 'zod';
import { firstRefusal, pairDatabase, pairSchema, peerExtensions, type PeerRule } from './peer-policy.js';
import { defineAction } from './actions.js';
import { defineChange } from './change.js';
import { extensionList } from './facts.js';
import { plainIdentifier as ident } from './identifier.js';

/** Reads and imports of the replicated schema only. */
const dataOfPair: PeerRule<{ database: string; schema: string }> = (p, pair) =>
  firstRefusal(pairDatabase('database', p.database, pair), pairSchema('schema', p.schema, pair));

const scratchName = z
  .string()
  .regex(/^pgduplex_restore_[a-z0-9_]{1,40}$/, { message: 'must be a scratch name like pgduplex_restore_check' });

/** `backup`: `pg_dump -Fc` of a database (or one schema) with a manifest; kept by its undo and by teardown. */
export const backupChange = defineChange({
  name: 'backup',
  params: z.strictObject({
    database: ident,
    schema: ident.optional(),
    /** Definitions only, no rows: small, so the peer's requests for one are not counted against its backup limit. */
    schemaOnly: z.boolean().optional(),
  }),
  record: z.strictObject({ id: z.string() }),
  teardown: 'keep',
  noun: 'backup',
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      p.schema === undefined ? undefined : pairSchema('schema', p.schema, pair),
    ),
});

/** `backup-restore`: restores a backup into a new scratch database to prove it usable; undo drops that database. */
export const backupRestoreChange = defineChange({
  name: 'backup-restore',
  // A scratch database is this node's operator's business (and disk): never the peer's.
  callers: ['local'],
  params: z.strictObject({ id: z.string().max(120), into: scratchName }),
  record: z.strictObject({ database: scratchName }),
  teardown: 'keep',
  noun: 'restored backup',
});

/** `extensions`: the extensions the replicated schema needs, created as the peer has them before the import. */
export const extensionsChange = defineChange({
  name: 'extensions',
  params: z.strictObject({ database: ident, extensions: extensionList }),
  record: z.strictObject({ database: ident, created: extensionList }),
  teardown: 'keep',
  noun: 'extensions',
  peer: (p, pair) =>
    firstRefusal(pairDatabase('database', p.database, pair), peerExtensions('extensions', p.extensions, pair)),
});

/**
 * `schema-import`: the peer's schema replayed here in one transaction as an unprivileged temporary role and
 * checked before it is kept; a schema with tables is replaced only with its backup.
 */
export const schemaImportChange = defineChange({
  name: 'schema-import',
  params: z.strictObject({
    database: ident,
    schema: ident.default('public'),
    replace: z.strictObject({ tables: z.number().int().min(1), backupId: z.string().max(120) }).optional(),
  }),
  record: z.strictObject({
    database: ident,
    schema: ident,
    owner: z.string().regex(/^[a-z_][a-z0-9_]*$/),
    backupId: z.string().nullable(),
  }),
  teardown: 'keep',
  noun: 'imported schema',
  peer: dataOfPair,
});

/** Streams this node's schema to the peer that imports it (meta: the tables; data: the dump). */
export const schemaExportAction = defineAction({
  name: 'schema.export',
  aliases: ['schema-export'],
  mutates: false,
  callers: ['peer'],
  params: z.strictObject({ database: ident, schema: ident }),
  result: z.unknown(),
  peer: dataOfPair,
});

/** Each table's shape in one comparable line, so verify can name schema differences. */
export const schemaDigestAction = defineAction({
  name: 'schema.digest',
  aliases: ['schema-digest'],
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident, schema: ident.default('public') }),
  result: z.record(z.string(), z.string()),
  peer: dataOfPair,
});

/** Row count and an order-independent checksum of every table of one schema. */
export const tablesChecksumAction = defineAction({
  name: 'tables.checksum',
  aliases: ['table-checksums'],
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident, schema: ident.default('public') }),
  result: z.array(z.strictObject({ table: z.string(), rows: z.number(), sum: z.string() })),
  peer: dataOfPair,
});

/** Per-bucket checksums of one table, or the keys in chosen buckets: how verify finds which rows differ. */
export const tablesDiffAction = defineAction({
  name: 'tables.diff',
  aliases: ['table-diff'],
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({
    database: ident,
    schema: ident,
    table: ident,
    modulus: z.number().int().min(1).max(4096).default(64),
    /** Without buckets: a count and checksum per bucket. With them: the keys (and row hashes) in those buckets. */
    buckets: z.array(z.number().int().min(0).max(4095)).max(64).optional(),
    limit: z.number().int().min(1).max(10_000).default(1000),
  }),
  result: z.union([
    z.array(z.strictObject({ bucket: z.number(), rows: z.number(), sum: z.string() })),
    z.array(z.strictObject({ key: z.string(), hash: z.string() })),
  ]),
  peer: dataOfPair,
});

const verifiedResult = z.strictObject({ verifiedAt: z.string().nullable(), current: z.boolean() });

/** When a full row-by-row verify of this database last passed, and whether the journal has moved since. */
export const verifiedGetAction = defineAction({
  name: 'verified.get',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident }),
  result: verifiedResult,
  peer: (p, pair) => pairDatabase('database', p.database, pair),
});

/** Records that a full verify of this database just passed, against the journal's newest line. */
export const verifiedSetAction = defineAction({
  name: 'verified.set',
  mutates: true,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident }),
  result: verifiedResult,
  peer: (p, pair) => pairDatabase('database', p.database, pair),
});
