import { z } from 'zod';
import type { ActionDescriptor, Caller, PeerDeclared } from './actions.js';
import type { PeerRule } from './peer-policy.js';

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
  /** What the paired peer may ask of it (its check and its apply alike). */
  readonly peer?: PeerRule<z.output<P>>;
  readonly check: ActionDescriptor<P, typeof checkResultSchema>;
  readonly apply: ActionDescriptor<P, typeof applyResultSchema>;
}

/**
 * Declares a change with its `.check` (reads only) and `.apply` (mutates) actions derived; the peer may call
 * both unless `callers` says otherwise, and then the change must say what the peer may ask.
 */
export function defineChange<
  P extends z.ZodType,
  U extends z.ZodType,
  const C extends readonly Caller[] = readonly ['local', 'peer'],
>(
  d: Omit<ChangeDescriptor<P, U>, 'check' | 'apply' | 'callers' | 'peer'> & { callers?: C } & PeerDeclared<P, C>,
): ChangeDescriptor<P, U> {
  const callers: readonly Caller[] = d.callers ?? ['local', 'peer'];
  const derived = <R extends z.ZodType>(verb: string, mutates: boolean, result: R): ActionDescriptor<P, R> => ({
    name: `${d.name}.${verb}`,
    mutates,
    callers,
    params: d.params,
    result,
    ...(d.peer ? { peer: d.peer } : {}),
  });
  return {
    ...d,
    callers,
    check: derived('check', false, checkResultSchema),
    apply: derived('apply', true, applyResultSchema),
  };
}

/** The undo record a change journals, as its apply builds it. */
export type RecordOf<D> = D extends ChangeDescriptor<z.ZodType, infer U> ? z.input<U> : never;
