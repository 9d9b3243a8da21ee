import { PgduplexError } from '../../shared/errors.js';
import { journalListAction, journalUndoAction } from '../../shared/protocol/journal.js';
import type { Agents } from '../setup/agents.js';
import { runChange, type Report } from '../setup/runner.js';
import { subscriptionStep, type PairFacts } from '../setup/steps.js';

/** The words of a subscription change that only disabled it: the pause, found again by a later run. */
const PAUSE = /^subscription \S+: enabled true -> false$/;

/**
 * While this node's slot is re-created, the peer's subscription that reads it is paused (a journaled change on the
 * peer), so it neither fails against the missing slot nor holds the slot the take-out must drop.
 */
export async function pausePeer(agents: Agents, f: PairFacts, report: Report): Promise<void> {
  const seen: string[][] = [];
  // The pause changes `enabled` only: binary stays as the pair has it, which status does not show, so both are tried.
  for (const binary of [false, true]) {
    const base = subscriptionStep(f, f.target, f.source, false, binary);
    const params = base.params as { options: Record<string, unknown> };
    const step = { ...base, params: { ...params, options: { ...params.options, enabled: false } } };
    const check = await runChange(agents, step, { dryRun: true, report: () => undefined, command: 'pg-upgrade' });
    seen.push(check.changes);
    if (check.changes.every((c) => PAUSE.test(c))) {
      if (check.changes.length > 0) await runChange(agents, step, { dryRun: false, report, command: 'pg-upgrade' });
      return;
    }
  }
  throw new PgduplexError(
    'REFUSED',
    `${f.target.node}'s subscription is not as pgduplex set it up: ${seen.flat().slice(0, 3).join('; ')}`,
    { hint: 'pgduplex setup puts it back (pgduplex setup --dry-run shows what differs), then re-run' },
  );
}

/**
 * Undoes the peer's pending journal entries of `action` whose words `match`, newest first: what this run changed there
 * for the length of the upgrade, or what a run cut short left for the next one.
 */
export async function undoOnPeer(
  agents: Agents,
  f: PairFacts,
  action: string,
  match: (changes: readonly string[]) => boolean,
  said: string,
  report: Report,
): Promise<void> {
  const pending = await agents.call(f.target.side, journalListAction, { pending: true });
  const mine = pending.filter((e) => e.action === action && !e.undone && match(e.changes));
  for (const e of mine.reverse()) {
    await agents.call(f.target.side, journalUndoAction, { id: e.id });
    report('changed', f.target.node, said);
  }
}

/** Undoes the pause on the peer: this run's, or one a run cut short left (the peer's journal holds it). */
export const resumePeer = (agents: Agents, f: PairFacts, report: Report): Promise<void> =>
  undoOnPeer(
    agents,
    f,
    'subscription',
    (changes) => changes.length > 0 && changes.every((c) => PAUSE.test(c)),
    `subscription from ${f.source.node} resumed`,
    report,
  );
