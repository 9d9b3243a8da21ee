import { z } from 'zod';
import { defineAction } from './actions.js';
import { plainIdentifier as ident } from './identifier.js';
import { pairDatabase, type PeerRule } from './peer-policy.js';
import { rowKey, rowsOfPair, tableParams } from './rows.js';

/** A subscription's conflict counters (PostgreSQL 18's names, without `confl_`). */
export const conflictCounts = z.record(z.string().max(64), z.number().int().min(0));
export type ConflictCounts = z.infer<typeof conflictCounts>;

/** What a counter rise is measured against: the counters and their `stats_reset` when the baseline was taken. */
export const conflictBaseline = z.strictObject({
  counters: conflictCounts,
  statsReset: z.string().nullable(),
  /** When it was taken: conflict lines logged before it are not read. */
  at: z.string(),
});
export type ConflictBaseline = z.infer<typeof conflictBaseline>;

/** One conflict line of the subscriber's server log (PostgreSQL 18's "conflict detected on relation …"). */
export const conflictLine = z.strictObject({
  at: z.string(),
  subscription: z.string().nullable(),
  origin: z.string().nullable(),
  table: z.string(),
  type: z.string(),
  /** `(col, …)=(value, …)` from the DETAIL's replica identity or key; null when the log gives none. */
  key: z.string().nullable(),
});
export type ConflictLine = z.infer<typeof conflictLine>;

/** One subscription of this node: counters now, the baseline, which counters rose, and the log's lines since. */
export const subscriptionConflicts = z.strictObject({
  subscription: z.string(),
  counters: conflictCounts,
  statsReset: z.string().nullable(),
  baseline: conflictBaseline,
  risen: z.array(z.string()),
  lines: z.array(conflictLine).max(200),
});
export type SubscriptionConflicts = z.infer<typeof subscriptionConflicts>;

const ofPair: PeerRule<{ database: string }> = (p, pair) => pairDatabase('database', p.database, pair);

/**
 * `conflicts.read`: this node's subscriptions' conflict counters against the baseline it keeps (a reset, a decrease
 * or a changed stats_reset takes a new one), with the server log's conflict lines when a counter rose. `supported`
 * is false before PostgreSQL 18, which counts no conflicts.
 */
export const conflictsReadAction = defineAction({
  name: 'conflicts.read',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident }),
  result: z.strictObject({
    supported: z.boolean(),
    serverVersionNum: z.number().int(),
    subscriptions: z.array(subscriptionConflicts),
  }),
  peer: ofPair,
});

/** `conflicts.advance`: takes the given counters as the subscription's baseline (its rows were found equal). */
export const conflictsAdvanceAction = defineAction({
  name: 'conflicts.advance',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({
    database: ident,
    subscription: z.string().max(64),
    counters: conflictCounts,
    statsReset: z.string().nullable(),
  }),
  result: z.strictObject({ baseline: conflictBaseline }),
  peer: ofPair,
});

/**
 * `rows.hashes`: the md5 of each named row's text (null: no such row) and its commit time where
 * track_commit_timestamp keeps it; with the table's primary-key columns, so a caller can check its key's columns.
 */
export const rowsByKeyAction = defineAction({
  name: 'rows.hashes',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ ...tableParams, keys: z.array(rowKey).min(1).max(100) }),
  result: z.strictObject({
    columns: z.array(z.string()),
    rows: z.array(z.strictObject({ key: rowKey, hash: z.string().nullable(), committedAt: z.string().nullable() })),
  }),
  peer: rowsOfPair,
});
