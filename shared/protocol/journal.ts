import { z } from 'zod';
import { anyRequest } from './peer-policy.js';
import { defineAction } from './actions.js';

/** A journal entry as `journal.list` shows it (its undo record stays on the node). */
export const journalEntrySchema = z.strictObject({
  id: z.string(),
  at: z.string(),
  action: z.string(),
  changes: z.array(z.string()),
  undone: z.boolean(),
  interrupted: z.boolean(),
  /** Who caused it: this node's operator or the peer (by fingerprint); absent in entries older agents wrote. */
  origin: z.enum(['local', 'peer']).optional(),
  peer: z.string().optional(),
});
export type JournalEntryView = z.infer<typeof journalEntrySchema>;

/** What was changed on this node; `pending`: only what is not undone yet (a whole journal outgrows a frame). */
export const journalListAction = defineAction({
  name: 'journal.list',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ pending: z.boolean().optional() }),
  result: z.array(journalEntrySchema),
  peer: anyRequest,
});

/** Reverses one change by its journal id. */
export const journalUndoAction = defineAction({
  name: 'journal.undo',
  mutates: true,
  callers: ['local', 'peer'],
  params: z.strictObject({ id: z.string().max(64) }),
  result: z.strictObject({ undone: z.array(z.string()) }),
  // Which entries: the agent checks the entry itself (only what the peer's own calls made and teardown undoes).
  peer: anyRequest,
});
