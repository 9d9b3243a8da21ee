import { PgduplexError } from '../../shared/errors.js';
import { formatBytes } from '../render/format.js';
import type { Agents } from './agents.js';
import type { Hazards } from './preflight.js';
import { runChange, type Report } from './runner.js';
import { brokenForwardSlot, brokenTableSync, waitForReverseCatchUp, type BrokenSlot } from './resync.js';
import { atStep } from './stage.js';
import { subscriptionName, type PairFacts } from './steps.js';

/**
 * How the target gets the source's schema; decided before anything changes, so a refusal changes
 * nothing. 'resync': subscribed, but the slot on the source is gone, so the target is copied again.
 */
export type Bootstrap =
  | { kind: 'subscribed' }
  | { kind: 'kept'; tables: number }
  | { kind: 'import' }
  | { kind: 'replace'; tables: number; what: string }
  | { kind: 'resync'; tables: number; what: string; slot: BrokenSlot };

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

type Sums = Array<{ table: string; rows: number }>;
type SubStatus = Array<{ name: string; tables: Record<string, number>; tableBytes: number; finishedCopy?: unknown[] }>;

// Order-blind: the two nodes' catalogs list the same tables in whatever order each created them.
const sameTables = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');

/** Decides the bootstrap from the target's subscriptions and tables (the source's list comes from its hazards). */
export async function planBootstrap(agents: Agents, f: PairFacts, hz: Hazards, o: BootstrapOptions): Promise<Bootstrap> {
  const subs = await agents.call<SubStatus>(f.target.side, 'subscription.status', { database: f.database });
  const subscribed = subs.some((s) => s.name === subscriptionName(f.source.node));
  const slot = subscribed ? ((await brokenForwardSlot(agents, f)) ?? (await brokenTableSync(agents, f))) : undefined;
  if (subscribed && !slot) return { kind: 'subscribed' };
  const target = await agents.call<{ tables: string[] }>(f.target.side, 'hazards', { database: f.database });
  if (target.tables.length === 0 && !slot) return { kind: 'import' };
  const sums = await agents.call<Sums>(f.target.side, 'table-checksums', { database: f.database }, { timeoutMs: 3_600_000 });
  const rows = sums.reduce((n, t) => n + t.rows, 0);
  if (rows === 0 && !slot && sameTables(target.tables, hz.tables)) return { kind: 'kept', tables: target.tables.length };
  const what = `the database ${f.database} on ${f.target.node} (${f.target.address}): schema public, ${target.tables.length} tables, ${rows} rows`;
  const plan: Bootstrap = slot ? { kind: 'resync', tables: target.tables.length, what, slot } : { kind: 'replace', tables: target.tables.length, what };
  if (o.dryRun) return plan;
  const why = slot ? `the replication slot ${slot.slot} on ${slot.on} that feeds ${f.target.node} ${slot.why}, so ${f.target.node} misses changes and must be copied from ${f.source.node} again: ` : '';
  const how = slot ? `: setup first waits until ${f.source.node} has every change made on ${f.target.node}, then backs ${f.target.node} up and copies ${f.source.node}'s data again` : ' (a backup is taken first)';
  if (rows > 0 && !o.replacePeerData) throw new PgduplexError('BAD_PARAMS', `${why}setup would destroy ${what}`, { hint: `nothing was changed; if that data may go, re-run with --yes --replace-peer-data${how}` });
  if (!o.yes && !(o.confirm && (await o.confirm(`${why}About to back up and then destroy ${what}. Continue?`)))) {
    throw new PgduplexError('BAD_PARAMS', `not confirmed: ${why}setup would replace ${what}`, { hint: 'nothing was changed; re-run with --yes to confirm' });
  }
  return plan;
}

/** Gives the target the source's schema: kept, imported, or replaced after a backup. Returns the backup's place. */
export async function bootstrapTarget(agents: Agents, f: PairFacts, o: BootstrapOptions, plan: Bootstrap): Promise<string | undefined> {
  if (plan.kind === 'subscribed') return void o.report('ok', f.target.node, 'bootstrap: already subscribed to the source, nothing to copy');
  if (plan.kind === 'kept') return void o.report('ok', f.target.node, `bootstrap: ${f.target.node} already holds the same ${plan.tables} tables and no rows; schema kept`);
  const importStep = (params: unknown) => runChange(agents, { side: f.target.side, node: f.target.node, action: 'schema-import', params }, o);
  if (plan.kind === 'import') {
    if (o.dryRun) return void o.report('would', f.target.node, `schema-import: copy the schema of ${f.database} from ${f.source.node}`);
    await importStep({ database: f.database });
    return undefined;
  }
  if (plan.kind === 'resync') {
    if (o.dryRun) return void o.report('would', f.target.node, `RE-COPY from ${f.source.node}: the slot ${plan.slot.slot} on ${plan.slot.on} ${plan.slot.why}; wait until ${f.source.node} has ${f.target.node}'s changes, drop the subscription, REPLACE ${plan.what} (after a backup)`);
    o.report('note', f.target.node, `resync: the slot ${plan.slot.slot} on ${plan.slot.on} ${plan.slot.why}; ${f.target.node} is copied from ${f.source.node} again`);
    await atStep(`the catch-up of ${f.source.node} from ${f.target.node}`, () => waitForReverseCatchUp(agents, f, o.report));
    await runChange(agents, { side: f.target.side, node: f.target.node, action: 'subscription-drop', params: { database: f.database, name: subscriptionName(f.source.node) } }, o);
    if (plan.tables === 0) return void (await importStep({ database: f.database }));
  }
  if (o.dryRun) return void o.report('would', f.target.node, `REPLACE ${plan.what} (after a backup)`);
  const backup = await atStep(`backup on ${f.target.node}`, () => agents.call<{ artifact?: string; notes?: string[] }>(f.target.side, 'backup.apply', { database: f.database }, { timeoutMs: 3_600_000, onProgress: (m) => o.report('...', f.target.node, `backup: ${m}`) }));
  const backupId = backup.artifact;
  if (!backupId) throw new PgduplexError('INTERNAL', 'the backup did not report its id');
  const [where = backupId, ...more] = backup.notes ?? [];
  o.report('changed', f.target.node, `backup: ${where}`);
  for (const n of more) o.report('note', f.target.node, `backup: ${n}`);
  await importStep({ database: f.database, replace: { tables: plan.tables, backupId } });
  return where;
}

/** How often a copy that has tables between copy and sync is checked for a lost sync slot. */
const SYNC_CHECK_MS = 15_000;

/** Waits until every table of the target's subscription is ready, reporting tables and bytes copied. */
export async function waitForCopy(agents: Agents, f: PairFacts, o: BootstrapOptions, totalBytes: number, limitMs = 6 * 3_600_000): Promise<void> {
  const name = subscriptionName(f.source.node);
  const deadline = Date.now() + limitMs;
  const started = Date.now();
  let checked = started;
  let last = '';
  for (let first = true; ; first = false) {
    const sub = (await agents.call<SubStatus>(f.target.side, 'subscription.status', { database: f.database })).find((s) => s.name === name);
    if (!sub) throw new PgduplexError('INTERNAL', `the subscription ${name} on ${f.target.node} disappeared during the copy`, { hint: 're-run pgduplex setup' });
    const total = Object.values(sub.tables).reduce((a, b) => a + b, 0);
    const ready = sub.tables['r'] ?? 0;
    const copied = Math.min(sub.tableBytes, totalBytes);
    const rate = copied / 1048576 / Math.max((Date.now() - started) / 1000, 0.001);
    const detail = `${ready}/${total} tables ready, ${formatBytes(copied)} of ${formatBytes(totalBytes)}${ready < total ? `, ${rate.toFixed(1)} MiB/s` : ''}`;
    o.progress?.(f.target.node, 'initial copy', ready, total, detail);
    const line = `initial copy: ${ready}/${total} tables ready`;
    if (line !== last && !o.progress) o.report('...', f.target.node, line);
    last = line;
    if (total > 0 && ready === total && first) return void o.report('ok', f.target.node, `initial copy: all ${total} tables were already ready, nothing copied`);
    if (total > 0 && ready === total) return void o.report('ok', f.target.node, `initial copy: ${total} tables ready (${formatBytes(totalBytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (Date.now() > deadline) throw new PgduplexError('TIMEOUT', `the initial copy to ${f.target.node} did not finish`, { hint: 're-run pgduplex setup: it resumes where it stopped' });
    if ((sub.finishedCopy?.length ?? 0) > 0 && Date.now() - checked > SYNC_CHECK_MS) {
      checked = Date.now();
      const lost = await brokenTableSync(agents, f);
      if (lost) {
        throw new PgduplexError('REPLICATION_BROKEN', `the initial copy to ${f.target.node} cannot finish: the slot ${lost.slot} on ${lost.on} ${lost.why}`, {
          hint: `re-run pgduplex setup: it copies ${f.target.node} from ${f.source.node} again, after a backup (${f.target.node} holds rows of the broken copy, so --yes --replace-peer-data)`,
        });
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
