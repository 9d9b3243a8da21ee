import type { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import type { ActionContext } from '../../shared/channel/rpc.js';
import type { ApplyResult, ChangeDescriptor, CheckResult } from '../../shared/protocol/change.js';
import { journalListAction, journalUndoAction } from '../../shared/protocol/journal.js';
import type { ChangeOrigin, Journal, Rollback } from '../state/journal.js';
import { defineHandler, type ActionHandler } from './registry.js';

/** The journal as one change sees it: entries carry its name, and a record of its descriptor's shape. */
export interface ChangeJournal<U extends z.ZodType> {
  make<T>(
    changes: string[],
    record: z.input<U>,
    make: (rollback: Rollback) => Promise<T>,
  ): Promise<{ journalId: string; result: T }>;
  /** Journals a change already made (a backup: nothing to roll back). */
  record(changes: string[], record: z.input<U>): Promise<string>;
}

/**
 * A change's implementation: `check` touches nothing, `apply` changes, verifies on the real system and
 * journals how to undo, `undo` restores from that record (parsed by the descriptor before it runs).
 */
export interface ChangeImpl<P extends z.ZodType, U extends z.ZodType> {
  check(params: z.output<P>): Promise<CheckResult>;
  apply(params: z.output<P>, journal: ChangeJournal<U>, ctx?: ActionContext): Promise<ApplyResult>;
  undo(record: z.output<U>): Promise<string[]>;
}

/** A change bound to its descriptor from the shared catalogue. */
export interface ChangeAction<P extends z.ZodType = z.ZodType, U extends z.ZodType = z.ZodType> extends ChangeImpl<
  P,
  U
> {
  readonly descriptor: ChangeDescriptor<P, U>;
}

/** Binds an implementation to its catalogue descriptor; a params or record mismatch does not compile. */
export function defineChange<P extends z.ZodType, U extends z.ZodType>(
  descriptor: ChangeDescriptor<P, U>,
  impl: ChangeImpl<P, U>,
): ChangeAction<P, U> {
  return { descriptor, ...impl };
}

/** What a change would do now: its words, the undo record it would journal, and what `make` works from. */
export interface ChangePlan<U extends z.ZodType, S> {
  changes: string[];
  record: z.input<U>;
  state: S;
  restartNeeded?: boolean;
  /** False when making it changes nothing an undo would take back (a reload only): make runs unjournaled. */
  journal?: boolean;
}

/** What `make` may add to apply's answer. */
export type MadeResult = Partial<Pick<ApplyResult, 'notes' | 'restartNeeded' | 'artifact'>>;

/**
 * A change planned once: `plan` reads and decides (it is the check), `make` carries that plan out with
 * a rollback for each step, `undo` reverses a journaled record. Apply is derived: plan, nothing to do or
 * journal then make, then a second plan that must find nothing left (`oneShot` changes, such as a
 * backup, are new each time: their make verifies what it made instead).
 */
export interface PlannedImpl<P extends z.ZodType, U extends z.ZodType, S> {
  plan(params: z.output<P>): Promise<ChangePlan<U, S>>;
  make(plan: ChangePlan<U, S>, rollback: Rollback, ctx?: ActionContext): Promise<MadeResult | void>;
  undo(record: z.output<U>): Promise<string[]>;
  oneShot?: boolean;
}

const noRollback: Rollback = async (undo) => void (await undo());

/** Binds a planned change to its descriptor, deriving `check` and `apply` from one plan. */
export function plannedChange<P extends z.ZodType, U extends z.ZodType, S>(
  descriptor: ChangeDescriptor<P, U>,
  impl: PlannedImpl<P, U, S>,
): ChangeAction<P, U> {
  const restart = (p: { restartNeeded?: boolean }) => (p.restartNeeded ? { restartNeeded: true } : {});
  return defineChange(descriptor, {
    async check(params) {
      const p = await impl.plan(params);
      return { changes: p.changes, ...restart(p) };
    },
    async apply(params, journal, ctx) {
      const p = await impl.plan(params);
      if (p.changes.length === 0) return { changed: false, changes: [], ...restart(p) };
      const { journalId, result } =
        p.journal === false
          ? { journalId: undefined, result: await impl.make(p, noRollback, ctx) }
          : await journal.make(p.changes, p.record, (rollback) => impl.make(p, rollback, ctx));
      const left = impl.oneShot ? [] : (await impl.plan(params)).changes;
      if (left.length > 0) {
        const where = journalId ? `journal entry ${journalId} undoes what was done` : 'nothing was journaled';
        throw new PgduplexError(
          'CHANGE_NOT_VERIFIED',
          `${descriptor.name} is not in place after it was made: ${left.join('; ')}`,
          { hint: `${where} (pgduplex teardown, or journal.undo)` },
        );
      }
      const made = result ?? {};
      const notes = made.notes ?? [];
      return {
        changed: true,
        changes: p.changes,
        ...(journalId ? { journalId } : {}),
        ...restart({ restartNeeded: made.restartNeeded ?? p.restartNeeded }),
        ...(notes.length > 0 ? { notes } : {}),
        ...(made.artifact ? { artifact: made.artifact } : {}),
      };
    },
    undo: (record) => impl.undo(record),
  });
}

/** The journal narrowed to one change, its entries marked with who caused them. */
export function changeJournal<U extends z.ZodType>(
  d: ChangeDescriptor<z.ZodType, U>,
  journal: Journal,
  by?: ChangeOrigin,
): ChangeJournal<U> {
  return {
    make: (changes, record, make) => journal.make(d.name, changes, record, make, by),
    record: (changes, record) => journal.record(d.name, changes, record, by),
  };
}

/** Who made a call, for its journal entries: the peer by the fingerprint `peerOf` gives (the trusted one). */
export const originOf = (ctx: ActionContext, peerOf?: () => string | undefined): ChangeOrigin => {
  const peer = ctx.origin === 'peer' ? peerOf?.() : undefined;
  return peer ? { origin: 'peer', peer } : { origin: ctx.origin };
};

/** Turns a change action into its RPC handlers `<name>.check` and `<name>.apply`. */
export function changeHandlers<P extends z.ZodType, U extends z.ZodType>(
  a: ChangeAction<P, U>,
  journal: Journal,
  peerOf?: () => string | undefined,
): ActionHandler[] {
  return [
    defineHandler({ descriptor: a.descriptor.check, run: (p) => a.check(p) }),
    defineHandler({
      descriptor: a.descriptor.apply,
      run: async (p, ctx) => {
        const r = await a.apply(p, changeJournal(a.descriptor, journal, originOf(ctx, peerOf)), ctx);
        if (r.changed)
          ctx.log?.info(
            { origin: ctx.origin, journalId: r.journalId, changes: r.changes },
            `${a.descriptor.name} applied`,
          );
        return r;
      },
    }),
  ] as unknown as ActionHandler[];
}

/** Finds the change that undoes a journal entry, by its name or a name it had in an earlier version. */
export function undoerOf(actions: readonly ChangeAction[], name: string): ChangeAction | undefined {
  return actions.find((a) => a.descriptor.name === name || a.descriptor.aliases?.includes(name));
}

/** Reverses one journal entry with the change that made it, its record parsed by that change's schema. */
export async function undoJournalEntry(
  actions: readonly ChangeAction[],
  journal: Journal,
  id: string,
): Promise<string[]> {
  const entry = await journal.get(id);
  if (entry.undone) throw new PgduplexError('REFUSED', `journal entry ${id} was already undone`);
  const action = undoerOf(actions, entry.action);
  if (!action) throw new PgduplexError('UNKNOWN_ACTION', `this agent cannot undo ${entry.action}`);
  const record = action.descriptor.record.safeParse(entry.undo);
  if (!record.success) {
    const why = record.error.issues[0]?.message ?? 'invalid';
    throw new PgduplexError(
      'JOURNAL_UNREADABLE',
      `journal entry ${id} (${entry.action}) holds an undo record this agent cannot read: ${why}`,
      {
        hint: 'the entry is kept; undo it by hand from /var/lib/pgduplex/journal.jsonl',
      },
    );
  }
  const undone = await action.undo(record.data);
  await journal.markUndone(id);
  return undone;
}

/** `journal.list` and `journal.undo`: what was changed, and reversing one change by its id. */
export function journalHandlers(actions: readonly ChangeAction[], journal: Journal): ActionHandler[] {
  return [
    defineHandler({
      descriptor: journalListAction,
      run: async ({ pending }) =>
        (await journal.list()).filter((e) => !pending || !e.undone).map(({ undo: _u, ...rest }) => rest),
    }),
    defineHandler({
      descriptor: journalUndoAction,
      run: async ({ id }, ctx) => {
        const undone = await undoJournalEntry(actions, journal, id);
        ctx.log?.info({ origin: ctx.origin, journalId: id, undone }, 'journal entry undone');
        return { undone };
      },
    }),
  ] as unknown as ActionHandler[];
}
