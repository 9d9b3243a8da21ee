import { PgduplexError, toPgduplexError } from '../../shared/errors.js';
import { factsAction } from '../../shared/protocol/facts.js';
import { journalUndoAction } from '../../shared/protocol/journal.js';
import { pgServiceRestartAction } from '../../shared/protocol/postgres.js';
import type { Agents } from '../setup/agents.js';
import { runChange, type Report } from '../setup/runner.js';
import {
  isEmpty,
  isKept,
  planSlots,
  planTeardown,
  summarize,
  type NodeView,
  type TeardownOp,
  type TeardownPlan,
} from './plan.js';
import { refreshPair, viewPair } from './view.js';
import { mixedVersionNote, pairVersions } from '../versions.js';

/** What the operator asked for. */
export interface TeardownOptions {
  database: string;
  dryRun: boolean;
  /** Confirmed on the command line (--yes). */
  yes: boolean;
  report: Report;
  /** Asks the operator; absent when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>;
}

/** How it ended: exit 0 for the first three, 3 for `partial` (the peer's side remains), 1 for `incomplete`. */
export type TeardownOutcome = 'nothing to do' | 'dry run' | 'done' | 'partial' | 'incomplete';

/** The plan, how it ended, and what is still in place afterwards (to finish on a later run). */
export interface TeardownResult {
  outcome: TeardownOutcome;
  plan: TeardownPlan;
  remaining: string[];
}

const describe = (op: TeardownOp): string[] =>
  op.kind === 'slot-drop'
    ? [
        `slot-drop: ${op.slot}${op.retainedBytes === null ? '' : ` (${op.retainedBytes} bytes of WAL)`}` +
          `${op.active && op.terminate ? ', ending its walsender' : ''}: ${op.why}`,
      ]
    : op.changes.map((c) => `revert ${op.action}: ${c}`);

/** The yes/no question: both nodes by name and what goes on each. */
function question(p: TeardownPlan): string {
  const lines = summarize(p).map((s) => `  ${s.node}: ${s.items.length > 0 ? s.items.join(', ') : 'nothing'}`);
  const unreachable = p.nodes
    .filter((n) => !n.reachable)
    .map((n) => `  ${n.node} cannot be reached: its side stays until a later run`);
  return [
    `Tear down pgduplex replication between ${p.nodes[0].node} and ${p.nodes[1].node}? This removes:`,
    ...lines,
    ...unreachable,
    '  Table data stays on both nodes. Continue?',
  ].join('\n');
}

async function undo(agents: Agents, op: TeardownOp, report: Report): Promise<void> {
  if (op.kind === 'slot-drop') {
    // The operator confirmed dropping this slot with the plan, whatever WAL it holds by now.
    await runChange(
      agents,
      {
        side: op.side,
        node: op.node,
        action: 'slot-drop',
        params: { slot: op.slot, confirmRetainedBytesAtLeast: 0, terminate: op.terminate },
      },
      { dryRun: false, report, command: 'teardown' },
    );
    return;
  }
  const r = await agents.call(op.side, journalUndoAction, { id: op.id }, { timeoutMs: 300_000 });
  for (const line of r.undone.length > 0 ? r.undone : ['nothing was left to undo'])
    report('changed', op.node, `${op.action}: ${line}`);
}

/**
 * Restarts (in parallel) the nodes whose reverted settings wait for one, unless a logical slot would stop PostgreSQL
 * from starting.
 */
async function restartWhereNeeded(agents: Agents, reverted: readonly NodeView[], report: Report): Promise<string[]> {
  const left: string[] = [];
  await Promise.all(
    reverted.map(async (n) => {
      try {
        await restartOne(n);
      } catch (err) {
        const e = toPgduplexError(err);
        report('FAILED', n.node, `pg-service: ${e.message}`);
        left.push(`${n.node}: a restart of PostgreSQL (${e.code})`);
      }
    }),
  );
  return left;

  async function restartOne(n: NodeView): Promise<void> {
    const facts = await agents.call(n.side, factsAction, {});
    const pending = Object.entries(facts.postgresql.ready ? facts.postgresql.settings : {})
      .filter(([, s]) => s.pendingRestart)
      .map(([name]) => name);
    if (pending.length === 0) return void report('ok', n.node, 'pg-service: no reverted setting needs a restart');
    const logical =
      n.reachable && pending.includes('wal_level')
        ? n.slots.filter((s) => s.type === 'logical').map((s) => s.name)
        : [];
    if (logical.length > 0) {
      report(
        'note',
        n.node,
        `pg-service: not restarted: PostgreSQL would refuse to start with logical slots (${logical.join(', ')}) and ` +
          `wal_level below logical`,
      );
      return void left.push(
        `${n.node}: a restart for ${pending.join(', ')}, once slots ${logical.join(', ')} are gone`,
      );
    }
    await agents.call(n.side, pgServiceRestartAction, {}, { timeoutMs: 300_000 });
    report('changed', n.node, `pg-service: restarted PostgreSQL for the reverted ${pending.join(', ')}`);
  }
}

/** What a run leaves: journal entries still to undo, slots still held, and the unreachable side. */
function remainingAfter(p: TeardownPlan, nodes: readonly [NodeView, NodeView]): string[] {
  const entries = nodes.flatMap((n) =>
    n.reachable
      ? n.pending
          .filter((e) => !isKept(e.action) && !(n.side === 'peer' && e.origin === 'local'))
          .map((e) => `${n.node}: ${e.action} (${e.changes[0] ?? e.id})`)
      : [],
  );
  return [...entries, ...planSlots(nodes).map((op) => `${op.node}: slot ${op.slot}`), ...p.remains];
}

/** Runs the confirmed plan; settings already reverted get their restart even when a later step fails. */
async function execute(agents: Agents, plan: TeardownPlan, o: TeardownOptions): Promise<string[]> {
  const done = new Set<TeardownOp>();
  let now = plan.nodes;
  let failure: unknown;
  try {
    for (const op of [...plan.subscriptions, ...plan.changes]) {
      await undo(agents, op, o.report);
      done.add(op);
    }
    now = await refreshPair(agents, now, o.database);
    const slots = planSlots(now);
    for (const op of slots) await undo(agents, op, o.report);
    if (slots.length === 0 && now.every((n) => n.reachable))
      o.report(
        'ok',
        `${now[0].node}+${now[1].node}`,
        "slot-drop: no slot of the pair's subscriptions is left on either node",
      );
  } catch (err) {
    failure = err;
  }
  now = await refreshPair(agents, now, o.database).catch(() => now);
  const reverted = now.filter((n) =>
    [...done].some((op) => op.side === n.side && op.kind === 'undo' && op.action === 'pg-settings'),
  );
  const notRestarted = await restartWhereNeeded(agents, reverted, o.report);
  if (failure !== undefined) {
    const e = toPgduplexError(failure);
    throw new PgduplexError(e.code, `teardown stopped: ${e.message}`, {
      hint: e.hint ?? 'fix that, then run pgduplex teardown again: it carries on from where it stopped',
    });
  }
  return [...remainingAfter(plan, now), ...notRestarted];
}

/**
 * `pgduplex teardown`: reads both journals, plans, asks, then undoes setup — subscriptions, the
 * other changes newest first, slots nothing else drops, restarts only where pending_restart says so.
 * Data changes (imported schemas, backups) stay; so does the pairing.
 */
export async function teardown(agents: Agents, o: TeardownOptions): Promise<TeardownResult> {
  const [view, versions] = await Promise.all([viewPair(agents, o.database), pairVersions(agents)]);
  const plan = planTeardown(view);
  const note = mixedVersionNote(versions);
  // Teardown works across versions (journal.list/undo and the entries' names are kept), so this only informs.
  if (note) o.report('note', plan.nodes[0].node, note);
  if (plan.nodes.some((n) => n.reachable && n.pending.some((e) => e.action === 'subscription-adopt')))
    o.report(
      'note',
      plan.nodes.map((n) => n.node).join('+'),
      "this pair's replication was taken over from FS PBX's setup_logical_replication.sh (setup --adopt): " +
        "teardown removes pgduplex's and does not restore the script's, so the nodes stop replicating",
    );
  const partial = plan.nodes.some((n) => !n.reachable);
  for (const n of plan.nodes)
    if (!n.reachable) o.report('note', n.node, `not reachable (${n.reason}): its side is left for a later run`);
  if (isEmpty(plan)) {
    for (const n of plan.nodes) if (n.reachable) o.report('ok', n.node, 'nothing to tear down');
    const outcome = partial ? 'partial' : plan.remains.length > 0 ? 'incomplete' : 'nothing to do';
    return { outcome, plan, remaining: [...plan.remains] };
  }
  if (o.dryRun) {
    for (const op of [...plan.subscriptions, ...plan.changes, ...plan.slots])
      for (const line of describe(op)) o.report('would', op.node, line);
    for (const r of plan.restart)
      o.report('would', r.node, 'pg-service: restart PostgreSQL if a reverted setting needs it (pending_restart)');
    return { outcome: 'dry run', plan, remaining: [...plan.remains] };
  }
  if (!o.yes && !(o.confirm && (await o.confirm(question(plan))))) {
    const why = o.confirm ? 'was not confirmed' : 'needs confirmation and there is no terminal to ask on';
    throw new PgduplexError('NOT_CONFIRMED', `teardown of ${plan.nodes[0].node} and ${plan.nodes[1].node} ${why}`, {
      hint: 'nothing was changed; re-run with --yes (or --dry-run to see the plan)',
    });
  }
  const remaining = await execute(agents, plan, o);
  return { outcome: partial ? 'partial' : remaining.length > 0 ? 'incomplete' : 'done', plan, remaining };
}
