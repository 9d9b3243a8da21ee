import {
  compareLsn,
  slotLagSeconds,
  type ReplicationLogError,
  type SlotFacts,
  type SubscriptionFacts,
} from '../../shared/replication.js';
import { formatBytes, formatDuration } from '../render/format.js';
import { subscriptionName } from '../setup/steps.js';
import type { NodeView, PairView } from './gather.js';
import { foreignProblem, unsubscribedProblem } from './coverage.js';
import { driftProblem, driftRemedies, schemaDrift } from './drift.js';
import { conflictRemedies, psqlCommand, quoteIdent, type Remedy } from './remedy.js';
import { mixedVersionNote, type AgentVersion } from '../versions.js';

/** How a direction, or the pair, stands. */
export type Verdict = 'healthy' | 'degraded' | 'broken';

/** `pgduplex status` exit codes, so monitoring can call it (1 and 2 stay "could not run" and "usage"). */
export const STATUS_EXIT: Readonly<Record<Verdict, number>> = { healthy: 0, degraded: 3, broken: 4 };

/** Lag above either limit makes a direction degraded. */
export interface Thresholds {
  maxLagBytes: number;
  maxLagSeconds: number;
}

/** One direction (`from` publishes, `to` subscribes) with its facts, what is wrong and what to do. */
export interface DirectionStatus {
  from: string;
  to: string;
  subscription: string;
  verdict: Verdict;
  subscriber: null | {
    enabled: boolean;
    streaming: boolean;
    tables: Record<string, number> | null;
    lastMessageAt: string | null;
    applyErrors: number;
    syncErrors: number;
    /** Sequence sync errors on PostgreSQL 19; null (n/a) before. */
    syncSeqErrors?: number | null;
    conflicts: Record<string, number> | null;
    /** PostgreSQL 19's retain_dead_tuples on the subscription: update_deleted is counted only with it on. */
    retainDeadTuples?: boolean | null;
    /** The subscriber's server_version_num: what it lacks is shown as n/a, naming its major. */
    serverVersionNum?: number;
    lastError: ReplicationLogError | null;
  };
  publisher: null | {
    slotActive: boolean;
    walStatus: string | null;
    retainedBytes: number | null;
    safeWalSizeBytes: number | null;
    maxSlotWalKeepSizeBytes: number | null;
    lagBytes: number | null;
    lagSeconds: number | null;
  };
  problems: Array<{ verdict: Verdict; text: string }>;
  remedies: Remedy[];
  /** True when a row a conflict named differs on the two nodes after the lag drained (PostgreSQL 18+). */
  diverging?: boolean;
}

/** What `pgduplex status` prints (and `--json` carries). */
export interface StatusReport {
  verdict: Verdict;
  database: string;
  node: string;
  peer: { node: string; reachable: boolean; problem: string | null };
  directions: DirectionStatus[];
  /** Both agents' versions, this node first. */
  agents: AgentVersion[];
  /** What works while the agents run different versions; null when they run the same one. */
  versionNote: string | null;
}

const RANK: Record<Verdict, number> = { healthy: 0, degraded: 1, broken: 2 };
const worst = (vs: Verdict[]): Verdict => vs.reduce<Verdict>((w, v) => (RANK[v] > RANK[w] ? v : w), 'healthy');

/** The latest error of this subscription's apply worker (by its origin), else of any of its workers. */
function lastErrorOf(errors: readonly ReplicationLogError[], s: SubscriptionFacts): ReplicationLogError | null {
  const mine = errors.filter((e) => e.origin === s.origin || (e.origin === null && e.subscription === s.name));
  return mine.sort((x, y) => x.at.localeCompare(y.at)).at(-1) ?? null;
}

function heldWal(pub: NodeView, sub: NodeView, slot: SlotFacts): string {
  const since = slot.inactiveSeconds === null ? '' : ` (not confirmed for ${formatDuration(slot.inactiveSeconds)})`;
  const max = pub.snapshot?.maxSlotWalKeepSizeBytes ?? null;
  const room =
    max === null
      ? 'max_slot_wal_keep_size is unlimited, so that WAL grows until the disk is full'
      : `${formatBytes(slot.safeWalSizeBytes ?? 0)} more WAL may be written before max_slot_wal_keep_size ` +
        `(${formatBytes(max)}) gives the slot up and ${sub.node} has to be set up again`;
  return (
    `${sub.node} is not receiving ${pub.node}'s changes: ${pub.node} holds ` +
    `${formatBytes(slot.retainedBytes ?? 0)} of WAL for it${since}; ${room}`
  );
}

function assessDirection(pub: NodeView, sub: NodeView, database: string, t: Thresholds): DirectionStatus {
  const name = subscriptionName(pub.node);
  const s = sub.snapshot?.subscriptions.find((x) => x.name === name && x.database === database);
  const slot = pub.snapshot?.slots.find((x) => x.name === (s?.slot ?? name));
  const err = s ? lastErrorOf(sub.errors, s) : null;
  const problems: DirectionStatus['problems'] = [];
  const remedies: Remedy[] = [];
  const add = (verdict: Verdict, text: string) => problems.push({ verdict, text });
  const foreign = s ? undefined : foreignProblem(pub, sub, database);
  const setupAgain = (what: string) => remedies.push({ node: sub.node, command: 'pgduplex setup', effect: what });

  if (!sub.snapshot)
    add('degraded', `${sub.node}: ${sub.problem ?? 'unknown'}; ${pub.node}'s changes are not applied there`);
  else if (!s && foreign) {
    add('degraded', foreign.text);
    remedies.push(foreign.remedy);
  } else if (!s) {
    add(
      'broken',
      `there is no subscription ${name} on ${sub.node} (database ${database}): nothing replicates ${pub.node} ` +
        `→ ${sub.node}`,
    );
    setupAgain('creates what is missing (run it on either node)');
  }
  if (!pub.snapshot)
    add('degraded', `${pub.node}: ${pub.problem ?? 'unknown'}; ${sub.node} cannot receive its changes, lag unknown`);
  else if (!slot) {
    if (s) {
      add(
        'broken',
        `there is no replication slot ${s.slot ?? name} on ${pub.node}: ${sub.node} cannot receive its changes`,
      );
      setupAgain('re-creates the subscription and its slot');
    }
  } else {
    const lag = slotLagSeconds(slot);
    if (slot.walStatus === 'lost') {
      add(
        'broken',
        `${pub.node} has removed WAL that ${sub.node} had not received (wal_status lost): this direction can no ` +
          `longer catch up`,
      );
      remedies.push({
        node: sub.node,
        command: 'pgduplex teardown && pgduplex setup',
        effect: 're-creates replication and copies the data again',
      });
    } else if (!slot.active) add('degraded', heldWal(pub, sub, slot));
    else if (slot.walStatus === 'unreserved')
      add(
        'degraded',
        `slot ${slot.name} on ${pub.node} holds more than max_wal_size and is given up at the next checkpoint ` +
          `unless ${sub.node} catches up`,
      );
    if (slot.active && ((slot.lagBytes ?? 0) > t.maxLagBytes || (lag ?? 0) > t.maxLagSeconds)) {
      add(
        'degraded',
        `${sub.node} is ${formatBytes(slot.lagBytes ?? 0)}${lag === null ? '' : ` (${formatDuration(lag)})`} ` +
          `behind ${pub.node}`,
      );
    }
  }
  if (s && sub.snapshot) {
    const finishLsn = err?.finishLsn ?? null;
    const stuck =
      err !== null && finishLsn !== null && err.origin === s.origin && compareLsn(s.originLsn ?? '0/0', finishLsn) < 0;
    if (stuck && s.skipLsn === finishLsn)
      add(
        'degraded',
        `${sub.node} is skipping ${pub.node}'s transaction finished at ${finishLsn} (ALTER SUBSCRIPTION … SKIP is ` +
          `set; the worker retries within seconds)`,
      );
    else if (stuck && err) {
      const where = [err.table && `table ${err.table}`, err.key && `key ${err.key}`].filter(Boolean).join(', ');
      add(
        'broken',
        `${sub.node} stopped applying ${pub.node}'s changes (${s.applyErrors} apply errors so ` +
          `far): ${err.message}${err.detail ? ` — ${err.detail}` : ''}${where ? ` [${where}]` : ''}; the transaction ` +
          `from ${pub.node} finished at ${finishLsn}`,
      );
      const drift = schemaDrift(err.message);
      if (drift) {
        add('broken', driftProblem(drift, pub.node, sub.node));
        remedies.push(...driftRemedies(drift, { database, subscription: s.name, pub: pub.node, sub: sub.node }));
      } else {
        const offered = conflictRemedies({ ...err, finishLsn }, s.name, database, sub.node, pub.node);
        remedies.push(...offered.remedies);
        if (offered.refused) add('broken', offered.refused);
      }
    } else if (!s.enabled) {
      add('degraded', `subscription ${s.name} on ${sub.node} is disabled`);
      remedies.push({
        node: sub.node,
        command: psqlCommand(database, `ALTER SUBSCRIPTION ${quoteIdent(s.name)} ENABLE`),
        effect: `${sub.node} resumes applying ${pub.node}'s changes`,
      });
    } else if (s.workerPid === null && pub.snapshot)
      add(
        'degraded',
        `the apply worker of ${s.name} on ${sub.node} is not running${err ? `; its last error: ${err.message}` : ''}`,
      );
    const unsubscribed = unsubscribedProblem(pub, sub, s, database);
    if (unsubscribed) {
      add('degraded', unsubscribed.text);
      remedies.push(unsubscribed.remedy);
    }
    const total = Object.values(s.tables ?? {}).reduce((a, b) => a + b, 0);
    const ready = s.tables?.['r'] ?? 0;
    if (ready < total)
      add(
        'degraded',
        `initial copy: ${ready}/${total} tables ready ` +
          `on ${sub.node}${err?.worker === 'sync' ? `; last copy error: ${err.message}` : ''}`,
      );
  }
  return {
    from: pub.node,
    to: sub.node,
    subscription: name,
    verdict: worst(problems.map((p) => p.verdict)),
    subscriber: s
      ? {
          enabled: s.enabled,
          streaming: s.workerPid !== null,
          tables: s.tables,
          lastMessageAt: s.lastMessageReceiptTime,
          applyErrors: s.applyErrors,
          syncErrors: s.syncErrors,
          syncSeqErrors: s.syncSeqErrors ?? null,
          conflicts: s.conflicts,
          retainDeadTuples: s.retainDeadTuples ?? null,
          ...(sub.snapshot ? { serverVersionNum: sub.snapshot.serverVersionNum } : {}),
          lastError: err,
        }
      : null,
    publisher: slot
      ? {
          slotActive: slot.active,
          walStatus: slot.walStatus,
          retainedBytes: slot.retainedBytes,
          safeWalSizeBytes: slot.safeWalSizeBytes,
          maxSlotWalKeepSizeBytes: pub.snapshot?.maxSlotWalKeepSizeBytes ?? null,
          lagBytes: slot.lagBytes,
          lagSeconds: slotLagSeconds(slot),
        }
      : null,
    problems,
    remedies,
  };
}

/** Judges both directions of the pair from what status gathered; pure, so every verdict is unit-tested. */
export function assessPair(view: PairView, t: Thresholds): StatusReport {
  const directions = [
    assessDirection(view.local, view.peer, view.database, t),
    assessDirection(view.peer, view.local, view.database, t),
  ];
  const verdicts = directions.map((d) => d.verdict);
  if (!view.peer.agentReachable) verdicts.push('degraded');
  if (!view.local.snapshot && !view.peer.snapshot) verdicts.push('broken');
  return {
    verdict: worst(verdicts),
    database: view.database,
    node: view.local.node,
    peer: {
      node: view.peer.node,
      reachable: view.peer.agentReachable,
      problem: view.peer.agentReachable ? null : (view.peer.problem ?? 'unreachable'),
    },
    directions,
    agents: [...view.versions],
    versionNote: mixedVersionNote(view.versions) ?? null,
  };
}
