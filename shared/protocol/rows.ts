import { z } from 'zod';
import { defineAction } from './actions.js';
import { defineChange } from './change.js';
import { plainIdentifier as ident } from './identifier.js';
import { firstRefusal, pairDatabase, pairSchema, type PeerRule } from './peer-policy.js';

/** Only the pair's database and schema: the same reach the peer has through replication itself. */
export const rowsOfPair: PeerRule<{ database: string; schema: string }> = (p, pair) =>
  firstRefusal(pairDatabase('database', p.database, pair), pairSchema('schema', p.schema, pair));

/**
 * A row's primary key as the text of each key column, in key order (PostgreSQL's own text form, with the time
 * zone and date style pinned): what crosses the channel instead of the row.
 */
export const rowKey = z
  .array(
    z
      .string()
      .max(400)
      .regex(/^[^\n\r\0]*$/, 'must be one line'),
  )
  .min(1)
  .max(32);
export type RowKey = z.infer<typeof rowKey>;

/** At most this many keys per call: their JSON goes to psql as one variable (one argv string, under 128 KiB). */
export const MAX_KEYS_PER_CALL = 1000;
const keyList = z
  .array(rowKey)
  .max(MAX_KEYS_PER_CALL)
  .refine((ks) => JSON.stringify(ks).length <= 100_000, 'the keys must fit in 100000 characters of JSON');

/** A key with the md5 of its row's text, as the compare saw it: a row that changed since is not touched. */
const keyHash = z.strictObject({ key: rowKey, hash: z.string().regex(/^[0-9a-f]{32}$/) });
export type KeyHash = z.infer<typeof keyHash>;

/** Every key a rows-take touches: those it backs up and those the peer's rows-push brings. */
export const takenKeys = (p: {
  overwrite: readonly KeyHash[];
  remove: readonly KeyHash[];
  arrive: readonly RowKey[];
}) => [...p.overwrite.map((k) => k.key), ...p.remove.map((k) => k.key), ...p.arrive];

/** One table of one database: the params every row action starts with. */
export const tableParams = { database: ident, schema: ident, table: ident };
const table = tableParams;

/**
 * `tables.slice`: one primary-key range of a table (`after` < key ≤ `upTo`, at most `limit` rows in key order)
 * read in one short transaction under a statement timeout: its row count, checksum and last key, and with
 * `keys` each key with its row's md5. How a compare walks a large table without holding a long snapshot.
 */
export const tablesSliceAction = defineAction({
  name: 'tables.slice',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({
    ...table,
    after: rowKey.nullable().default(null),
    upTo: rowKey.nullable().default(null),
    limit: z.number().int().min(1).max(10_000).default(1000),
    keys: z.boolean().default(false),
    statementTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
  }),
  result: z.strictObject({
    rows: z.number(),
    sum: z.string(),
    last: rowKey.nullable(),
    keys: z.array(keyHash).optional(),
  }),
  peer: rowsOfPair,
});

/**
 * `rows-push`: on the node whose version is kept, rewrites the given rows (deleted and inserted again in one
 * transaction, without firing triggers or foreign-key actions) so that replication carries each whole row to the
 * peer. The rows' content here does not change; its undo has nothing to restore (the peer's `rows-take` has).
 */
export const rowsPushChange = defineChange({
  name: 'rows-push',
  params: z.strictObject({
    ...table,
    keys: keyList,
    /** Keys the compare found only on the peer: refused when one is here (the nodes' key orders disagree). */
    absent: keyList.default([]),
  }),
  record: z.strictObject({ ...table, rows: z.number() }),
  teardown: 'keep',
  noun: 'rows rewritten to replicate',
  peer: rowsOfPair,
});

/**
 * `rows-take`: on the node that takes the other's version, backs up (COPY, a root 0600 file under the backup
 * directory) the rows about to be overwritten or deleted, then deletes `remove` under a local replication origin
 * so the delete does not flow back. `overwrite` rows are replaced by the peer's `rows-push`; `arrive` rows are
 * the ones it will insert. Its undo puts back exactly the backed-up rows, again without replicating.
 */
export const rowsTakeChange = defineChange({
  name: 'rows-take',
  params: z
    .strictObject({
      ...table,
      overwrite: z.array(keyHash).max(MAX_KEYS_PER_CALL),
      remove: z.array(keyHash).max(MAX_KEYS_PER_CALL),
      arrive: keyList,
    })
    .refine((p) => keyList.safeParse(takenKeys(p)).success, {
      message: `at most ${MAX_KEYS_PER_CALL} keys in all, in 100000 characters of JSON`,
    }),
  record: z.strictObject({
    ...table,
    backup: z.string(),
    /** The columns the backup holds, in its order. */
    columns: z.array(z.string()),
    /** Every key the repair touches here: undo deletes them, then loads the backup. */
    keys: z.array(rowKey),
  }),
  teardown: 'keep',
  noun: 'rows taken from the peer (backed up)',
  peer: rowsOfPair,
});
