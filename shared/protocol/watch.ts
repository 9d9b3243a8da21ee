import { z } from 'zod';
import { defineAction } from './actions.js';
import { anyRequest, firstRefusal, pairSchema, type PeerRule } from './peer-policy.js';
import { rowKey } from './rows.js';

/** What the divergence watch knows of one table: when it was last seen equal, and a sample of differing keys. */
export const watchTableSchema = z.strictObject({
  /** When its last full walk finished. */
  checkedAt: z.string(),
  /** When a full walk last found it equal on both nodes (null: never yet). */
  lastEqualAt: z.string().nullable(),
  /** Rows that differed after the lag drained, in its last full walk (a sample, at most `sample.length` known). */
  differing: z.number().int().min(0),
  sample: z.array(z.strictObject({ key: z.string().max(1000), how: z.string().max(200) })).max(20),
});
export type WatchTable = z.infer<typeof watchTableSchema>;

/** The watch's state: where the walk stands (it resumes there), and each table's results. */
export const watchStateSchema = z.strictObject({
  version: z.literal(1),
  database: z.string(),
  /** The table being walked and the last key compared; null table: the next round starts a new pass. */
  cursor: z.strictObject({
    table: z.string().nullable(),
    after: rowKey.nullable(),
    /** Differing rows found so far in the table being walked. */
    found: z.array(z.strictObject({ key: z.string().max(1000), how: z.string().max(200) })).max(20),
    foundCount: z.number().int().min(0),
  }),
  /** When the current pass over all tables began and when the last one finished. */
  passStartedAt: z.string().nullable(),
  lastPassAt: z.string().nullable(),
  /** When the last round ran (finished or cut by its time limit), and how many tables the current pass has done. */
  lastRoundAt: z.string().nullable(),
  tablesDone: z.number().int().min(0),
  tablesTotal: z.number().int().min(0),
  tables: z.record(z.string().max(130), watchTableSchema),
  /**
   * A table whose differing slice could not be judged because the lag could not drain (replication stopped or
   * lagging): not divergence; the walk waits at that slice. Absent or null: none. Optional for older agents' states.
   */
  unsettled: z
    .strictObject({ table: z.string().max(130), since: z.string(), reason: z.string().max(1000) })
    .nullable()
    .optional(),
});
export type WatchState = z.infer<typeof watchStateSchema>;

/** The tables a watch state names lie in a schema the pair replicates. */
const watchOfPair: PeerRule<{ state: WatchState }> = (p, pair) =>
  firstRefusal(...Object.keys(p.state.tables).map((t) => pairSchema('state.tables', t.split('.')[0] ?? '', pair)));

/** The watch's state as this node keeps it (null before the first round). */
export const watchGetAction = defineAction({
  name: 'watch.get',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({}),
  result: watchStateSchema.nullable(),
  peer: anyRequest,
});

/** Stores a round's results on this node (both nodes keep them, so each serves them in /metrics). */
export const watchRecordAction = defineAction({
  name: 'watch.record',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ state: watchStateSchema }),
  result: z.strictObject({ recorded: z.boolean() }),
  peer: watchOfPair,
});
