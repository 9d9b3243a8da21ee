import { tablesChecksumAction } from '../../shared/protocol/data.js';
import { hazardsAction } from '../../shared/protocol/facts.js';
import { subscriptionStatusAction } from '../../shared/protocol/replication-actions.js';
import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import { formatBytes } from '../render/format.js';
import type { Adoption } from './adopt.js';
import type { Agents, Side } from './agents.js';
import type { Hazards } from './preflight.js';
import type { Report } from './runner.js';
import { brokenForwardSlot, brokenTableSync, type BrokenSlot } from './resync.js';
import { subscriptionName, type PairFacts } from './steps.js';

/**
 * How the target gets the source's schema; decided before anything changes, so a refusal changes
 * nothing. 'resync': subscribed, but the slot on the source is gone, so the target is copied again. 'adopt': FS
 * PBX's script replicates the pair, and setup --adopt takes it over without a copy.
 */
export type Bootstrap =
  | { kind: 'subscribed' }
  | { kind: 'kept'; tables: number }
  | { kind: 'import' }
  | { kind: 'replace'; tables: number; rows: number; what: string }
  | { kind: 'resync'; tables: number; rows: number; what: string; slot: BrokenSlot }
  | { kind: 'adopt'; adoption: Adoption };

/** What bootstrapping needs from the operator's options. */
export interface BootstrapOptions {
  dryRun: boolean;
  yes: boolean;
  replacePeerData: boolean;
  report: Report;
  confirm?: (question: string) => Promise<boolean>;
  progress?: Progress;
}

/** Progress of a long step: done of total, in the step's unit, with a short detail. */
export type Progress = (node: string, label: string, done: number, total: number, detail: string) => void;

// Order-blind: the two nodes' catalogs list the same tables in whatever order each created them.
const sameTables = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');

/**
 * Reads how the target gets the schema: its subscriptions, tables and rows (the source's list comes
 * from its hazards). Reads only: what needs the operator's confirmation is asked by the plan's run.
 */
export async function readBootstrap(agents: Agents, f: PairFacts, hz: Hazards): Promise<Bootstrap> {
  const subs = await agents.call(f.target.side, subscriptionStatusAction, { database: f.database });
  const subscribed = subs.some((s) => s.name === subscriptionName(f.source.node));
  const slot = subscribed ? ((await brokenForwardSlot(agents, f)) ?? (await brokenTableSync(agents, f))) : undefined;
  if (subscribed && !slot) return { kind: 'subscribed' };
  const target = await agents.call(f.target.side, hazardsAction, { database: f.database });
  // An import cut short left tables nobody checked: they are imported again, not kept.
  if ((target.tables.length === 0 || target.unfinishedImport === true) && !slot) return { kind: 'import' };
  const sums = await agents.call(
    f.target.side,
    tablesChecksumAction,
    { database: f.database },
    { timeoutMs: 3_600_000 },
  );
  const rows = sums.reduce((n, t) => n + t.rows, 0);
  if (rows === 0 && !slot && sameTables(target.tables, hz.tables))
    return { kind: 'kept', tables: target.tables.length };
  const what =
    `the database ${f.database} on ${f.target.node} (${f.target.address}): schema public, ` +
    `${target.tables.length} tables, ${rows} rows`;
  const tables = target.tables.length;
  return slot ? { kind: 'resync', tables, rows, what, slot } : { kind: 'replace', tables, rows, what };
}

/** What replacing the target's data asks of the operator, decided from the bootstrap alone. */
export interface Confirmation {
  readonly side: Side;
  readonly node: string;
  /** The yes/no question a terminal is asked. */
  readonly question: string;
  /** The target holds rows: --replace-peer-data is needed besides the confirmation. */
  readonly dataLoss: boolean;
  /** Why a run without --replace-peer-data is refused, and what to do about it. */
  readonly refusal: { readonly message: string; readonly hint: string };
  readonly unconfirmed: string;
}

/** The confirmation a bootstrap that replaces the target's schema needs; none for the others. */
export function bootstrapConfirmation(f: PairFacts, plan: Bootstrap): Confirmation | undefined {
  if (plan.kind !== 'replace' && plan.kind !== 'resync') return undefined;
  const t = f.target.node;
  const s = f.source.node;
  const slot = plan.kind === 'resync' ? plan.slot : undefined;
  const why = slot
    ? `the replication slot ${slot.slot} on ${slot.on} that feeds ${t} ${slot.why}, so ${t} misses changes and must ` +
      `be ` +
      `copied from ${s} again: `
    : '';
  const how = slot
    ? `: setup first waits until ${s} has every change made on ${t}, then backs ${t} up and copies ${s}'s data again`
    : ' (a backup is taken first)';
  return {
    side: f.target.side,
    node: t,
    question: `${why}About to back up and then destroy ${plan.what}. Continue?`,
    dataLoss: plan.rows > 0,
    refusal: {
      message: `${why}setup would destroy ${plan.what}`,
      hint: `nothing was changed; if that data may go, re-run with --yes --replace-peer-data${how}`,
    },
    unconfirmed: `not confirmed: ${why}setup would replace ${plan.what}`,
  };
}

/** The options a confirmation is answered by. */
export type ConfirmOptions = Pick<BootstrapOptions, 'yes' | 'replacePeerData' | 'confirm'>;

/** Asks (or takes --yes / --replace-peer-data for) a confirmation; refuses before anything changes. */
export async function confirmBootstrap(c: Confirmation, o: ConfirmOptions): Promise<void> {
  if (c.dataLoss && !o.replacePeerData)
    throw new PgduplexError('BAD_PARAMS', c.refusal.message, { hint: c.refusal.hint });
  if (!o.yes && !(o.confirm && (await o.confirm(c.question)))) {
    throw new PgduplexError('BAD_PARAMS', c.unconfirmed, { hint: 'nothing was changed; re-run with --yes to confirm' });
  }
}

/** How often a copy that has tables between copy and sync is checked for a lost sync slot. */
const SYNC_CHECK_MS = 15_000;

/** Waits until every table of the target's subscription is ready, reporting tables and bytes copied. */
export async function waitForCopy(
  agents: Agents,
  f: PairFacts,
  o: Pick<BootstrapOptions, 'report' | 'progress'>,
  totalBytes: number,
  limitMs = 6 * 3_600_000,
): Promise<void> {
  const name = subscriptionName(f.source.node);
  const started = Date.now();
  let checked = started;
  let last = '';
  let first = true;
  const copied = async (): Promise<true | undefined> => {
    const sub = (await agents.call(f.target.side, subscriptionStatusAction, { database: f.database })).find(
      (s) => s.name === name,
    );
    if (!sub)
      throw new PgduplexError('INTERNAL', `the subscription ${name} on ${f.target.node} disappeared during the copy`, {
        hint: 're-run pgduplex setup',
      });
    const total = Object.values(sub.tables).reduce((a, b) => a + b, 0);
    const ready = sub.tables['r'] ?? 0;
    const bytes = Math.min(sub.tableBytes, totalBytes);
    const rate = bytes / 1048576 / Math.max((Date.now() - started) / 1000, 0.001);
    const detail =
      `${ready}/${total} tables ready, ${formatBytes(bytes)} ` +
      `of ${formatBytes(totalBytes)}${ready < total ? `, ${rate.toFixed(1)} MiB/s` : ''}`;
    o.progress?.(f.target.node, 'initial copy', ready, total, detail);
    const line = `initial copy: ${ready}/${total} tables ready`;
    if (line !== last && !o.progress) o.report('...', f.target.node, line);
    last = line;
    if (total > 0 && ready === total) {
      o.report(
        'ok',
        f.target.node,
        first
          ? `initial copy: all ${total} tables were already ready, nothing copied`
          : `initial copy: ${total} tables ready (${formatBytes(totalBytes)} ` +
              `in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
      return true;
    }
    first = false;
    if ((sub.finishedCopy?.length ?? 0) > 0 && Date.now() - checked > SYNC_CHECK_MS) {
      checked = Date.now();
      const lost = await brokenTableSync(agents, f);
      if (lost) {
        throw new PgduplexError(
          'REPLICATION_BROKEN',
          `the initial copy to ${f.target.node} cannot finish: the slot ${lost.slot} on ${lost.on} ${lost.why}`,
          {
            hint:
              `re-run pgduplex setup: it copies ${f.target.node} from ${f.source.node} again, after a backup ` +
              `(${f.target.node} holds rows of the broken copy, so --yes --replace-peer-data)`,
          },
        );
      }
    }
    return undefined;
  };
  await poll(copied, {
    timeoutMs: limitMs,
    intervalMs: 1000,
    expired: () => {
      throw new PgduplexError('TIMEOUT', `the initial copy to ${f.target.node} did not finish`, {
        hint: 're-run pgduplex setup: it resumes where it stopped',
      });
    },
  });
}
