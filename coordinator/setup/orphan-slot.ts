import { replicationStatusAction, subscriptionStatusAction } from '../../shared/protocol/replication-actions.js';
import { poll } from '../../shared/poll.js';
import { PgduplexError } from '../../shared/errors.js';
import type { Agents } from './agents.js';
import { runChange, type Report, type StepOutcome } from './runner.js';
import { subscriptionName, type PairFacts } from './steps.js';

type Node = PairFacts['source'];

/** How long a slot left by a cut-short CREATE SUBSCRIPTION may still show its walsender. */
const ACTIVE_GRACE_MS = 15_000;

/**
 * CREATE SUBSCRIPTION makes its slot on the publisher outside the subscriber's transaction: a run cut
 * short in between (the agent killed) leaves the slot without its subscription, and every later
 * CREATE fails with "replication slot already exists". No stream reads such a slot, so it is dropped
 * (journaled, and named in the output) before the subscription is created; answers what the drop did.
 */
export async function dropOrphanSlot(
  agents: Agents,
  f: PairFacts,
  on: Node,
  from: Node,
  o: { dryRun: boolean; report: Report },
  graceMs = ACTIVE_GRACE_MS,
): Promise<StepOutcome | undefined> {
  const name = subscriptionName(from.node);
  const read = async () => {
    const [subs, status] = await Promise.all([
      agents.call(on.side, subscriptionStatusAction, { database: f.database }),
      agents.call(from.side, replicationStatusAction, {}),
    ]);
    return subs.some((s) => s.name === name) ? undefined : status.slots.find((s) => s.name === name);
  };
  let last: Awaited<ReturnType<typeof read>>;
  const idle = async () => {
    last = await read();
    return last?.active ? undefined : { slot: last };
  };
  const { slot } = await poll(idle, { timeoutMs: graceMs, intervalMs: 1000, expired: () => ({ slot: last }) });
  if (!slot) return undefined;
  if (slot.active) {
    throw new PgduplexError(
      'BUSY',
      `the replication slot ${name} on ${from.node} is in use, yet ${on.node} has no subscription ${name}: another ` +
        `server streams from it`,
      {
        hint:
          `find it in pg_stat_replication on ${from.node} and stop it (or drop the slot there), then re-run ` +
          `pgduplex setup`,
      },
    );
  }
  o.report(
    'note',
    from.node,
    `slot ${name} was left by an interrupted run (no subscription on ${on.node} uses it); ` +
      `it ${o.dryRun ? 'would be' : 'is'} dropped so ${on.node}'s subscription can be created`,
  );
  return runChange(
    agents,
    { side: from.side, node: from.node, action: 'slot-drop', params: { slot: name, confirmRetainedBytesAtLeast: 0 } },
    o,
  );
}
