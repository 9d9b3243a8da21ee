import { replicationStatusAction, subscriptionStatusAction } from '../../shared/protocol/replication-actions.js';
import { poll } from '../../shared/poll.js';
import { PgduplexError } from '../../shared/errors.js';
import type { Agents } from './agents.js';
import type { Report } from './runner.js';
import { subscriptionName, type PairFacts } from './steps.js';

type Slot = { name: string; walStatus: string | null; confirmedFlushLsn: string | null };
type Status = { walLsn: string; maxSlotWalKeepSize: string; slots: Slot[] };

/** A subscription whose slot on the publisher was invalidated (or dropped): it can never stream again. */
export interface BrokenSlot {
  slot: string;
  /** The node that holds the slot (the publisher). */
  on: string;
  why: string;
}

/** An LSN such as 0/1A2B3C4 as a number that orders correctly. */
export const lsnValue = (lsn: string): bigint => {
  const [hi = '0', lo = '0'] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
};

function broken(status: Status, slot: string, on: string, away: string): BrokenSlot | undefined {
  const s = status.slots.find((x) => x.name === slot);
  if (s && s.walStatus !== 'lost') return undefined;
  const why = s
    ? `was invalidated (wal_status lost): ${away} was away longer than max_slot_wal_keep_size ` +
      `(${status.maxSlotWalKeepSize}) allows`
    : 'does not exist any more';
  return { slot, on, why };
}

/**
 * Whether the target's subscription to the source lost its slot (then the target must be copied
 * again); refuses when the source's subscription to the target did: the target's changes made while
 * the source was away never reached it, and neither copy may simply win.
 */
export async function brokenForwardSlot(agents: Agents, f: PairFacts): Promise<BrokenSlot | undefined> {
  const [src, tgt] = await Promise.all(
    [f.source, f.target].map((n) => agents.call(n.side, replicationStatusAction, {})),
  );
  const back = subscriptionName(f.target.node);
  const reverse = broken(tgt!, back, f.target.node, f.source.node);
  const hasReverse = (await agents.call(f.source.side, subscriptionStatusAction, { database: f.database })).some(
    (s) => s.name === back,
  );
  if (reverse && hasReverse) {
    throw new PgduplexError(
      'BAD_PARAMS',
      `the replication slot ${back} on ${f.target.node} that feeds ${f.source.node} ${reverse.why}: changes made ` +
        `on ${f.target.node} in that time never reached ${f.source.node}, and copying either node over the other ` +
        `would lose the other's`,
      {
        hint:
          `nothing was changed. By hand: compare the nodes (pgduplex verify) and carry what ${f.source.node} ` +
          `misses over; then on ${f.source.node}: ALTER SUBSCRIPTION ${back} DISABLE; ALTER SUBSCRIPTION ${back} SET ` +
          `(slot_name = NONE); DROP SUBSCRIPTION ${back}; on ${f.target.node}: SELECT ` +
          `pg_drop_replication_slot('${back}') if it is listed in pg_replication_slots; then re-run pgduplex ` +
          `setup (${f.source.node} subscribes again without copying)`,
      },
    );
  }
  return broken(src!, subscriptionName(f.source.node), f.source.node, f.target.node);
}

/**
 * How long a copied table's missing sync slot must stay missing to count: its normal drop commits within
 * milliseconds.
 */
const SYNC_SLOT_GRACE_MS = 6000;

/**
 * Whether a table of the target's subscription can never finish its sync: its copy is done, but the
 * slot on the source that the sync needs is gone. PostgreSQL drops that slot just before it records the
 * sync as done; a target that crashes in between is left retrying for ever ("slot does not exist").
 */
export async function brokenTableSync(
  agents: Agents,
  f: PairFacts,
  graceMs = SYNC_SLOT_GRACE_MS,
): Promise<BrokenSlot | undefined> {
  const name = subscriptionName(f.source.node);
  const missing = async () => {
    const [subs, src] = await Promise.all([
      agents.call(f.target.side, subscriptionStatusAction, { database: f.database }),
      agents.call(f.source.side, replicationStatusAction, {}),
    ]);
    const slots = new Set(src.slots.map((x) => x.name));
    return (subs.find((x) => x.name === name)?.finishedCopy ?? []).filter((t) => !slots.has(t.slot));
  };
  // Only a slot missing at every look, from the first to the end of the grace, counts as lost.
  let lost: Awaited<ReturnType<typeof missing>> | undefined;
  const gone = async () => {
    const now = await missing();
    lost = lost === undefined ? now : lost.filter((t) => now.some((x) => x.slot === t.slot));
    return lost.length === 0 || undefined;
  };
  await poll(gone, { timeoutMs: graceMs, intervalMs: 1000, expired: () => false });
  const t = lost?.[0];
  if (!t) return undefined;
  const why =
    `does not exist any more: PostgreSQL dropped it as the copy of ${t.table} finished, ` +
    `and ${f.target.node} stopped (a crash?) before recording that, so ${t.table} can never finish syncing`;
  return { slot: t.slot, on: f.source.node, why };
}

/**
 * Waits until the source has received every change the target made so far (the source's
 * subscription has confirmed the target's current WAL position on its slot), so that replacing the
 * target's tables afterwards loses none of them.
 */
export async function waitForReverseCatchUp(
  agents: Agents,
  f: PairFacts,
  report: Report,
  limitMs = 10 * 60_000,
): Promise<void> {
  const slot = subscriptionName(f.target.node);
  const first = await agents.call(f.target.side, replicationStatusAction, {});
  if (!first.slots.some((s) => s.name === slot))
    return void report(
      'note',
      f.target.node,
      `catch-up: ${f.source.node} never subscribed to ${f.target.node} (no slot ${slot}); ${f.target.node}'s own ` +
        `rows are only in its backup`,
    );
  const goal = lsnValue(first.walLsn);
  report(
    '...',
    f.source.node,
    `catch-up: waiting until ${f.source.node} has every change made on ${f.target.node} (up to ${first.walLsn})`,
  );
  let at = '0/0';
  const caughtUp = async () => {
    at =
      (await agents.call(f.target.side, replicationStatusAction, {})).slots.find((s) => s.name === slot)
        ?.confirmedFlushLsn ?? '0/0';
    return lsnValue(at) >= goal || undefined;
  };
  await poll(caughtUp, {
    timeoutMs: limitMs,
    intervalMs: 1000,
    expired: () => {
      throw new PgduplexError(
        'TIMEOUT',
        `${f.source.node} has not received ${f.target.node}'s changes up to ${first.walLsn} ` +
          `within ${limitMs / 60_000} min (its subscription ${slot} confirmed ${at})`,
        {
          hint:
            `nothing was replaced yet; check the subscription ${slot} on ${f.source.node} (its log, ` +
            `pg_stat_subscription_stats), then re-run pgduplex setup`,
        },
      );
    },
  });
  report(
    'ok',
    f.source.node,
    `catch-up: ${f.source.node} has every change made on ${f.target.node} up to ${first.walLsn}`,
  );
}
