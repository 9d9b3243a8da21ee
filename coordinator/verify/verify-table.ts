import { PgduplexError } from '../../shared/errors.js';
import { rowsPushChange, rowsTakeChange } from '../../shared/protocol/rows.js';
import type { Agents } from '../setup/agents.js';
import { pairFacts } from '../setup/gather.js';
import { drained } from '../setup/settled.js';
import type { Report } from '../setup/runner.js';
import type { PairFacts } from '../setup/steps.js';
import { keptNode, planRepair, planSummary } from './repair-plan.js';
import { howText, keyText } from './slices.js';
import { pairSlots } from '../setup/settled.js';
import { compareTable, type CompareLimits, type TableCompare, type TableName } from './table-compare.js';

/** `--repair --keep NODE` and how it is confirmed. */
export interface RepairOptions {
  keep: string;
  dryRun: boolean;
  yes: boolean;
  confirm?: (question: string) => Promise<boolean>;
}

/** What `verify --table` did: the compare, and with --repair the journal entries, the backup and the compare after. */
export interface VerifyTableResult {
  equal: boolean;
  compare: TableCompare;
  repair?: { dryRun: boolean; takeJournalId?: string; pushJournalId?: string; backup?: string; after?: TableCompare };
}

const reportCompare = (c: TableCompare, f: PairFacts, report: Report) => {
  const pair = `${f.source.node}/${f.target.node}`;
  for (const r of c.rows)
    report('DIFFERS', pair, `verify: ${c.table} key ${keyText(r.key)}: ${howText(r, f.source.node, f.target.node)}`);
  const walked = `${c.slices} slices, ${c.differingSlices} differing; rows in flight awaited`;
  if (c.rows.length === 0)
    report('ok', `${f.source.node}+${f.target.node}`, `verify: ${c.table} identical (${walked})`);
  else report('DIFFERS', pair, `verify: ${c.table}: ${c.rows.length}${c.complete ? '' : '+'} rows differ (${walked})`);
  if (!c.complete) report('note', pair, `verify: ${c.table}: more rows differ than were listed`);
};

/**
 * `pgduplex verify --table T [--repair --keep NODE]`: compares one table slice by slice and lists the keys that
 * differ; with --repair, the other node takes NODE's version of exactly those rows, through replication: it backs
 * them up and deletes its extra rows under a local origin (rows-take), then NODE rewrites its rows (rows-push).
 */
export async function verifyTable(
  agents: Agents,
  o: { database: string; table: TableName; limits: CompareLimits; report: Report; repair?: RepairOptions },
): Promise<VerifyTableResult> {
  const f = await pairFacts(agents, o.database, 'local');
  if (o.repair) keptNode(f, o.repair.keep); // a wrong name is refused before anything is read or changed
  const compare = await compareTable(agents, f, o.table, o.limits);
  reportCompare(compare, f, o.report);
  if (!o.repair || compare.rows.length === 0) return { equal: compare.rows.length === 0, compare };

  const plan = planRepair(f, o.table, compare.rows, o.repair.keep);
  for (const line of planSummary(plan)) o.report('plan', plan.other.node, `repair: ${line}`);
  const [take, push] = await Promise.all([
    agents.call(plan.other.side, rowsTakeChange.check, plan.take),
    agents.call(plan.keep.side, rowsPushChange.check, plan.push),
  ]);
  for (const c of take.changes) o.report('would', plan.other.node, `rows-take: ${c}`);
  for (const c of push.changes) o.report('would', plan.keep.node, `rows-push: ${c}`);
  if (o.repair.dryRun) {
    o.report('note', `${f.source.node}+${f.target.node}`, 'repair: dry run: nothing was changed');
    return { equal: false, compare, repair: { dryRun: true } };
  }
  const question =
    `${plan.other.node} takes ${plan.keep.node}'s version of ${compare.rows.length} rows of ${compare.table} ` +
    `(its own backed up first)?`;
  if (!o.repair.yes && !(o.repair.confirm && (await o.repair.confirm(question)))) {
    const why = o.repair.confirm ? 'was not confirmed' : 'needs confirmation and there is no terminal to ask on';
    throw new PgduplexError('NOT_CONFIRMED', `the repair of ${compare.table} on ${plan.other.node} ${why}`, {
      hint: 'nothing was changed; re-run with --yes (or --dry-run to list the rows)',
    });
  }

  const took = await agents.call(plan.other.side, rowsTakeChange.apply, plan.take);
  for (const n of took.notes ?? []) o.report('changed', plan.other.node, `rows-take: ${n}`);
  const undo = took.journalId ? `pgduplex undo ${took.journalId} (on ${plan.other.node})` : 'nothing to undo';
  let pushed;
  try {
    pushed = plan.push.keys.length > 0 ? await agents.call(plan.keep.side, rowsPushChange.apply, plan.push) : undefined;
  } catch (err) {
    o.report('FAILED', plan.keep.node, `rows-push: ${(err as Error).message}; ${undo} puts back what rows-take did`);
    throw err;
  }
  for (const n of pushed?.notes ?? []) o.report('changed', plan.keep.node, `rows-push: ${n}`);
  await drained(agents, f, pairSlots(f), o.limits.drainMs);
  const after = await compareTable(agents, f, o.table, o.limits);
  reportCompare(after, f, o.report);
  o.report(
    'note',
    plan.other.node,
    `repair: ${undo} restores ${plan.other.node}'s rows from ${took.artifact ?? 'its backup'}`,
  );
  return {
    equal: after.rows.length === 0,
    compare,
    repair: {
      dryRun: false,
      ...(took.journalId ? { takeJournalId: took.journalId } : {}),
      ...(pushed?.journalId ? { pushJournalId: pushed.journalId } : {}),
      ...(took.artifact ? { backup: took.artifact } : {}),
      after,
    },
  };
}
