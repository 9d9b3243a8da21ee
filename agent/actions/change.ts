import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { defineAction } from '../../shared/protocol/actions.js';
import { RENAMED_ACTIONS } from '../../shared/protocol/action-names.js';
import type { Journal } from '../state/journal.js';
import type { ActionContext } from '../../shared/channel/rpc.js';
import type { ActionHandler } from './registry.js';

/** What `check` answers: the changes `apply` would make, in words, and whether a restart follows. */
export const checkResultSchema = z.strictObject({ changes: z.array(z.string()), restartNeeded: z.boolean().optional() });
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
 * A state-changing action: `check` touches nothing, `apply` changes, verifies on the real system and
 * journals how to undo, `undo` restores from that record. Running `apply` twice changes nothing.
 */
export interface ChangeAction<P extends z.ZodType> {
  name: string;
  params: P;
  check(params: z.output<P>): Promise<CheckResult>;
  apply(params: z.output<P>, journal: Journal, ctx?: ActionContext): Promise<ApplyResult>;
  undo(record: unknown): Promise<string[]>;
}

/** Declares a change action with its param type inferred. */
export function defineChange<P extends z.ZodType>(a: ChangeAction<P>): ChangeAction<P> {
  return a;
}

/** Turns a change action into its RPC handlers `<name>.check` and `<name>.apply`. */
export function changeHandlers(a: ChangeAction<z.ZodType>, journal: Journal): ActionHandler[] {
  const callers = ['local', 'peer'] as const;
  return [
    { descriptor: defineAction({ name: `${a.name}.check`, mutates: false, params: a.params, result: checkResultSchema }), callers, run: (p) => a.check(p) },
    { descriptor: defineAction({ name: `${a.name}.apply`, mutates: true, params: a.params, result: applyResultSchema }), callers, run: (p, ctx) => a.apply(p, journal, ctx) },
  ] as ActionHandler[];
}

/** Which action undoes a journal entry, by the name it was journaled under: today's, or an earlier release's. */
export function undoTargets(
  actions: ReadonlyArray<ChangeAction<z.ZodType>>,
  renamed: ReadonlyMap<string, string> = RENAMED_ACTIONS,
): ReadonlyMap<string, ChangeAction<z.ZodType>> {
  const byName = new Map(actions.map((a) => [a.name, a]));
  for (const [old, now] of renamed) {
    const target = byName.get(now);
    if (target && !byName.has(old)) byName.set(old, target);
  }
  return byName;
}

/** `journal.list` and `journal.undo`: what was changed, and reversing one change by its id. */
export function journalHandlers(actions: ReadonlyArray<ChangeAction<z.ZodType>>, journal: Journal): ActionHandler[] {
  const byName = undoTargets(actions);
  const callers = ['local', 'peer'] as const;
  const list = defineAction({
    name: 'journal.list',
    mutates: false,
    // `pending`: only what is not undone yet. A whole journal grows for ever and would outgrow a frame.
    params: z.strictObject({ pending: z.boolean().optional() }),
    result: z.array(z.strictObject({ id: z.string(), at: z.string(), action: z.string(), changes: z.array(z.string()), undone: z.boolean(), interrupted: z.boolean() })),
  });
  const undo = defineAction({ name: 'journal.undo', mutates: true, params: z.strictObject({ id: z.string().max(64) }), result: z.strictObject({ undone: z.array(z.string()) }) });
  return [
    { descriptor: list, callers, run: async ({ pending }: { pending?: boolean }) => (await journal.list()).filter((e) => !pending || !e.undone).map(({ undo: _u, ...rest }) => rest) },
    {
      descriptor: undo,
      callers,
      run: async ({ id }: { id: string }) => {
        const entry = await journal.get(id);
        if (entry.undone) throw new PgduplexError('BAD_PARAMS', `journal entry ${id} was already undone`);
        const action = byName.get(entry.action);
        if (!action) throw new PgduplexError('UNKNOWN_ACTION', `this agent cannot undo ${entry.action}`);
        const undone = await action.undo(entry.undo);
        await journal.markUndone(id);
        return { undone };
      },
    },
  ] as ActionHandler[];
}
