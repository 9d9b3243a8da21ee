import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import { backupChange } from '../../shared/protocol/data.js';
import { factsAction } from '../../shared/protocol/facts.js';
import { pgSettingsChange } from '../../shared/protocol/postgres.js';
import { replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import { pgClusterDropChange, rebuilds, upgradeFactsAction, type UpgradeFacts } from '../../shared/protocol/upgrade.js';
import type { Agents } from '../setup/agents.js';
import { pairFacts } from '../setup/gather.js';
import { runChange, type Report } from '../setup/runner.js';
import { drained, pairSlots } from '../setup/settled.js';
import { atStep as setupStep } from '../setup/stage.js';
import { subscriptionStep, type PairFacts } from '../setup/steps.js';
import { verifyPair, verified, type VerifyResult } from '../setup/verify.js';
import { gatherPair } from '../status/gather.js';
import { assessPair, type StatusReport } from '../status/verdict.js';
import { pausePeer, resumePeer, undoOnPeer } from './pause.js';
import { upgradeWords } from './plan.js';

const atStep = <T>(step: string, run: () => Promise<T>) => setupStep(step, run, 'pg-upgrade');
const THRESHOLDS = { maxLagBytes: 64 * 1024 * 1024, maxLagSeconds: 300 };

/** What `pgduplex pg-upgrade` was asked to do. */
export interface UpgradeOptions {
  database: string;
  to: number;
  link: boolean;
  replaceEmpty: boolean;
  /** Re-create the pair's slot and subscription after pg_upgrade instead of letting it carry them. */
  recreate?: boolean;
  dryRun: boolean;
  yes: boolean;
  report: Report;
  confirm?: (question: string) => Promise<boolean>;
  /** How long the pair may take to stream both ways again after the upgrade. */
  streamLimitMs?: number;
}

/** What a run did, for the summary and --json. */
export interface UpgradeResult {
  plan: string[];
  /** Nothing to do: this node runs the target major already and follows it. */
  done: boolean;
  verify?: VerifyResult;
}

const problemsOf = (r: StatusReport) =>
  r.directions.flatMap((d) => d.problems.map((p) => `${d.from} -> ${d.to}: ${p.text}`));

/** Both directions must stream with no error before this node's PostgreSQL goes down for the upgrade. */
async function preflight(agents: Agents, f: PairFacts, report: Report): Promise<void> {
  const status = assessPair(await gatherPair(agents, f.database), THRESHOLDS);
  if (status.verdict !== 'healthy')
    throw new PgduplexError('REFUSED', `the pair is ${status.verdict}: ${problemsOf(status).slice(0, 3).join('; ')}`, {
      hint: `pgduplex status says what to do; the upgrade starts from a healthy pair, so ${f.target.node} serves alone`,
    });
  report('ok', `${f.source.node}+${f.target.node}`, 'preflight: both directions stream, no apply errors');
}

/** Waits until status says healthy again (both subscriptions streaming) after the new cluster started. */
async function streamingAgain(agents: Agents, f: PairFacts, limitMs: number, report: Report): Promise<void> {
  let last: StatusReport | undefined;
  await poll(
    async () => {
      last = assessPair(await gatherPair(agents, f.database), THRESHOLDS);
      return last.verdict === 'healthy' ? true : undefined;
    },
    {
      timeoutMs: limitMs,
      intervalMs: 1000,
      expired: () => {
        throw new PgduplexError(
          'REPLICATION_BROKEN',
          `the pair did not stream both ways within ${limitMs / 1000} s of the upgrade: ` +
            (last ? problemsOf(last).slice(0, 3).join('; ') : 'no status'),
          { hint: 'pgduplex status says what is wrong; re-run pgduplex pg-upgrade to check again' },
        );
      },
    },
  );
  report('ok', `${f.source.node}+${f.target.node}`, 'both directions stream again');
}

/**
 * idle_replication_slot_timeout (18+) on the serving node would drop the slot this node reads while it is down for
 * the upgrade: it is set to 0 there (journaled on the peer) for the length of the upgrade.
 */
async function suspendIdleTimeout(agents: Agents, f: PairFacts, report: Report): Promise<void> {
  const facts = await agents.call(f.target.side, factsAction, {});
  const value = facts.postgresql.ready ? facts.postgresql.settings['idle_replication_slot_timeout']?.value : undefined;
  if (value === undefined || value === '0') return;
  await agents.call(f.target.side, pgSettingsChange.apply, {
    settings: { idle_replication_slot_timeout: '0' },
    merge: true,
  });
  report('changed', f.target.node, `idle_replication_slot_timeout ${value} -> 0 while ${f.source.node} is upgraded`);
}

/** A suspension's journal entry on the peer, by its words (a run cut short leaves it pending: the next undoes it). */
const SUSPENSION = /^idle_replication_slot_timeout: \S+ -> 0( |$)/;

/** Puts back what suspendIdleTimeout changed on the peer, this run's or one a killed run left. */
const resumeIdleTimeout = (agents: Agents, f: PairFacts, report: Report): Promise<void> =>
  undoOnPeer(
    agents,
    f,
    pgSettingsChange.name,
    (changes) => changes.some((c) => SUSPENSION.test(c)),
    'idle_replication_slot_timeout restored',
    report,
  );

const peerMajorOf = async (agents: Agents, f: PairFacts) =>
  Math.floor(
    (await agents.call(f.target.side, replicationStatusAction, { database: f.database })).serverVersionNum / 1e4,
  );

/**
 * Binary transfer only between equal majors: after an upgrade that made them differ, the peer's subscription stops it
 * (this node's stops it within pg-upgrade, so teardown from either node finds nothing of this run's it may not undo).
 */
async function binaryForMajors(agents: Agents, f: PairFacts, peerMajor: number, to: number, report: Report) {
  if (peerMajor === to) return;
  await runChange(agents, subscriptionStep(f, f.target, f.source, false, false), {
    dryRun: false,
    report,
    command: 'pg-upgrade',
  });
}

/**
 * `pgduplex pg-upgrade --to N`, on the node to upgrade: a healthy pair, both directions drained, then pg_upgradecluster
 * here (journaled, resumable) while the peer serves, then both directions stream again from where they were (no copy)
 * and the pair verifies. A second run finds nothing to do.
 */
export async function pgUpgrade(agents: Agents, o: UpgradeOptions): Promise<UpgradeResult> {
  const f = await atStep('the pairing check', () => pairFacts(agents, o.database, 'local'));
  const facts = await atStep('reading this node', () =>
    agents.call('local', upgradeFactsAction, { to: o.to, database: o.database }),
  );
  const peerMajor = await atStep('reading the peer', () => peerMajorOf(agents, f));
  const step = {
    side: 'local' as const,
    node: f.source.node,
    action: 'pg-upgrade',
    params: { to: o.to, link: o.link, replaceEmpty: o.replaceEmpty, peerMajor, recreate: o.recreate === true },
  };
  const rebuild = rebuilds(facts, o.recreate === true);
  const check = await atStep('the plan', () =>
    runChange(agents, step, { dryRun: true, report: () => undefined, command: 'pg-upgrade' }),
  );
  const plan = upgradeWords(f, facts, check.changes, { ...o, rebuild });
  if (check.changes.length === 0) {
    // A run cut short after its upgrade left these for the next one; each finds nothing when all is done.
    if (!o.dryRun) {
      await atStep(`resuming ${f.target.node}'s subscription`, () => resumePeer(agents, f, o.report));
      await atStep('restoring idle_replication_slot_timeout', () => resumeIdleTimeout(agents, f, o.report));
      await atStep('subscriptions', () => binaryForMajors(agents, f, peerMajor, o.to, o.report));
    }
    o.report('ok', f.source.node, `runs PostgreSQL ${o.to} already: nothing to do`);
    return { plan, done: true };
  }
  const resuming = facts.running || facts.current.version === String(o.to);
  if (o.dryRun) {
    for (const line of plan) o.report('would', f.source.node, line);
    return { plan, done: false };
  }
  // A run cut short after it parked the pair for re-creation goes on from there: its preflight and drain were done.
  const fresh = !resuming && !facts.parked;
  if (fresh) await atStep('preflight', () => preflight(agents, f, o.report));
  await confirm(o, f, facts);
  if (fresh) {
    await atStep('draining', () => drained(agents, f, pairSlots(f)));
    o.report('ok', `${f.source.node}+${f.target.node}`, 'both directions drained');
  }
  if (!resuming)
    await atStep('suspending idle_replication_slot_timeout', () => suspendIdleTimeout(agents, f, o.report));
  if (!resuming && rebuild)
    await atStep(`pausing ${f.target.node}'s subscription`, () => pausePeer(agents, f, o.report));
  try {
    await runChange(agents, step, { dryRun: false, report: o.report, timeoutMs: 6 * 3_600_000, command: 'pg-upgrade' });
  } catch (err) {
    await resumeUnlessUnderWay(agents, f, o);
    throw err;
  }
  await atStep(`resuming ${f.target.node}'s subscription`, () => resumePeer(agents, f, o.report));
  await atStep('streaming again', () => streamingAgain(agents, f, o.streamLimitMs ?? 600_000, o.report));
  await atStep('restoring idle_replication_slot_timeout', () => resumeIdleTimeout(agents, f, o.report));
  await atStep('subscriptions', () => binaryForMajors(agents, f, peerMajor, o.to, o.report));
  await atStep('catching up', () => drained(agents, f, pairSlots(f), 1_800_000));
  o.report('ok', `${f.source.node}+${f.target.node}`, `what ${f.target.node} took meanwhile has arrived here`);
  const verify = await atStep('verify', () => verifyPair(agents, f, o.report, [], { settled: pairSlots(f) }));
  return { plan, done: false, verify };
}

/**
 * A failed upgrade leaves the old cluster serving (the agent put the pair's objects back): the peer's paused
 * subscription resumes. One still under way, or done but not followed yet, is a re-run's to finish: it stays paused.
 */
async function resumeUnlessUnderWay(agents: Agents, f: PairFacts, o: UpgradeOptions): Promise<void> {
  const now = await agents.call('local', upgradeFactsAction, { to: o.to, database: o.database }).catch(() => null);
  if (now === null || now.running || now.current.version === String(o.to)) return;
  await resumePeer(agents, f, o.report).catch(() => undefined);
}

async function confirm(o: UpgradeOptions, f: PairFacts, facts: UpgradeFacts): Promise<void> {
  if (o.yes) return;
  const what =
    `upgrade ${f.source.node}'s PostgreSQL ${facts.current.version} to ${o.to} ` +
    '(its PBX loses the database meanwhile)';
  if (!o.confirm)
    throw new PgduplexError('NOT_CONFIRMED', `pg-upgrade would ${what}; nothing was changed`, {
      hint: 'pass --yes to go ahead (--dry-run shows the plan)',
    });
  if (!(await o.confirm(`${what}?`))) throw new PgduplexError('NOT_CONFIRMED', 'not confirmed: nothing was changed');
}

/** `pg-upgrade --finish`: the database backed up from the new cluster, then the old clusters removed. */
export async function finishUpgrade(
  agents: Agents,
  o: Pick<UpgradeOptions, 'database' | 'dryRun' | 'yes' | 'report' | 'confirm'> & { to: number },
): Promise<string[]> {
  const facts = await agents.call('local', upgradeFactsAction, { to: o.to, database: o.database });
  const old = facts.replaced.map((c) => `${c.version}/${c.name} (${c.dataDir})`);
  if (old.length === 0) {
    o.report('ok', '', 'no old cluster left: nothing to finish');
    return [];
  }
  if (o.dryRun) {
    o.report('would', '', `back up ${o.database} from ${facts.current.version}/${facts.current.name}`);
    for (const c of old) o.report('would', '', `remove the old cluster ${c}: the way back of the upgrade`);
    return old;
  }
  if (!o.yes) {
    const q = `remove the old cluster ${old.join(', ')}, the way back of the upgrade`;
    if (!o.confirm || !(await o.confirm(`${q}?`)))
      throw new PgduplexError('NOT_CONFIRMED', `pg-upgrade --finish would ${q}; nothing was changed`, {
        hint: 'pass --yes to go ahead (a backup of the database is taken first)',
      });
  }
  const backup = await agents.call('local', backupChange.apply, { database: o.database }, { timeoutMs: 3_600_000 });
  o.report('changed', '', `backup: ${backup.artifact ?? backup.changes.join('; ')}`);
  for (const c of facts.replaced) {
    const r = await agents.call('local', pgClusterDropChange.apply, { version: c.version, cluster: c.name });
    for (const line of r.changes) o.report(r.changed ? 'changed' : 'ok', '', line);
  }
  return old;
}

/** Whether a run ended with the pair verified (or nothing to do). */
export const upgraded = (r: UpgradeResult): boolean => r.done || (r.verify !== undefined && verified(r.verify));
