import { PgduplexError } from '../../shared/errors.js';
import { replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import type { Agents } from '../setup/agents.js';
import { pairSlots } from '../setup/settled.js';
import type { PairFacts } from '../setup/steps.js';
import type { DifferingRow, KeyRange } from '../verify/slices.js';
import { settleRanges, type CompareLimits, type TableName } from '../verify/table-compare.js';

/** Why a lag cannot drain now: a direction whose slot is missing or not read (its subscription stopped). */
export async function drainBlocker(agents: Agents, f: PairFacts): Promise<string | null> {
  const slots = pairSlots(f);
  const ends = [
    { n: f.source, peer: f.target, slot: slots.onSource },
    { n: f.target, peer: f.source, slot: slots.onTarget },
  ];
  const reads = await Promise.all(ends.map((e) => agents.call(e.n.side, replicationStatusAction, {})));
  const why = ends.flatMap((e, i) => {
    const slot = reads[i]!.slots.find((s) => s.name === e.slot);
    if (!slot) return [`slot ${e.slot} is missing on ${e.n.node}`];
    if (!slot.active)
      return [`${e.peer.node} is not applying ${e.n.node}'s changes (slot ${e.slot} on ${e.n.node} is not read)`];
    return [];
  });
  return why.length > 0 ? why.join('; ') : null;
}

/** A settle the watch could not finish: the rows cannot be judged until the lag between the nodes drains. */
export interface Unsettled {
  reason: string;
}

/**
 * Settles a walk's differing ranges as verify does, unless the lag cannot drain within the round: then the slices
 * are unsettled (not divergence; the next round walks them again), said with the reason. A direction that is not
 * streaming is found before any wait; a lag that does not drain within `drainMs` is one too.
 */
export async function settleOrWait(
  agents: Agents,
  f: PairFacts,
  t: TableName,
  ranges: readonly KeyRange[],
  l: CompareLimits,
): Promise<{ rows: DifferingRow[] } | Unsettled> {
  if (ranges.length === 0) return { rows: [] };
  const blocked = await drainBlocker(agents, f);
  if (blocked) return { reason: `replication is stopped: ${blocked}` };
  try {
    return await settleRanges(agents, f, t, ranges, l);
  } catch (err) {
    if (err instanceof PgduplexError && err.code === 'TIMEOUT') return { reason: `replication lags: ${err.message}` };
    throw err;
  }
}
