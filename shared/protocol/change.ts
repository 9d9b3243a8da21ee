import { z } from 'zod';
import { defineAction, type ActionDescriptor, type Caller } from './actions.js';

/** What `check` answers: the changes `apply` would make, in words, and whether a restart follows. */
export const checkResultSchema = z.strictObject({
  changes: z.array(z.string()),
  restartNeeded: z.boolean().optional(),
});
/** What `apply` answers: what it changed (empty when nothing was needed) and the journal entry. */
export const applyResultSchema = z.strictObject({
  changed: z.boolean(),
  changes: z.array(z.string()),
  journalId: z.string().optional(),
  restartNeeded: z.boolean().optional(),
  notes: z.array(z.string()).optional(),
  /** What the change made that a later step names: a backup's id. */
  artifact: z.string().optional(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;
export type ApplyResult = z.infer<typeof applyResultSchema>;

/**
 * What teardown does with a change's journal entries: `first` undoes them on both nodes before anything
 * else (subscriptions), `normal` newest first per node, `keep` leaves them (data, and teardown's own drops).
 */
export type TeardownOrder = 'first' | 'normal' | 'keep';

/** A journaled change: its params, the record its undo reads, and how teardown treats it. */
export interface ChangeDescriptor<P extends z.ZodType = z.ZodType, U extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly callers: readonly Caller[];
  readonly params: P;
  /** The undo record as the journal stores it; parsed once, before the undo runs. */
  readonly record: U;
  readonly teardown: TeardownOrder;
  /** How teardown's confirmation names what the undo removes. */
  readonly noun: string;
  /** Its undo leaves settings that need a restart (teardown restarts where pending_restart says so). */
  readonly restartOnUndo?: boolean;
  /** Names its journal entries carried in earlier versions. */
  readonly aliases?: readonly string[];
  readonly check: ActionDescriptor<P, typeof checkResultSchema>;
  readonly apply: ActionDescriptor<P, typeof applyResultSchema>;
}

/** Declares a change with its `.check` (reads only) and `.apply` (mutates) actions derived. */
export function defineChange<P extends z.ZodType, U extends z.ZodType>(
  d: Omit<ChangeDescriptor<P, U>, 'check' | 'apply' | 'callers'> & { callers?: readonly Caller[] },
): ChangeDescriptor<P, U> {
  const callers = d.callers ?? (['local', 'peer'] as const);
  return {
    ...d,
    callers,
    check: defineAction({
      name: `${d.name}.check`,
      mutates: false,
      callers,
      params: d.params,
      result: checkResultSchema,
    }),
    apply: defineAction({
      name: `${d.name}.apply`,
      mutates: true,
      callers,
      params: d.params,
      result: applyResultSchema,
    }),
  };
}

/** The undo record a change journals, as its apply builds it. */
export type RecordOf<D> = D extends ChangeDescriptor<z.ZodType, infer U> ? z.input<U> : never;
