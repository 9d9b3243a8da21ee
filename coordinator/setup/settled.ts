import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import { tablesChecksumAction } from '../../shared/protocol/data.js';
import { replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import { compareLsn } from '../../shared/replication.js';
import type { Agents } from './agents.js';
import { subscriptionName, type PairFacts } from './steps.js';
import { differingKeys, type DifferingKey } from './verify-sample.js';

/** The slots that carry the pair's two directions now: on the source (the target reads it) and on the target. */
export interface PairSlots {
  readonly onSource: string;
  readonly onTarget: string;
}

/** The slots of a pair set up by pgduplex: each named after the node it is on (its peer's subscription reads it). */
export const pairSlots = (f: PairFacts): PairSlots => ({
  onSource: subscriptionName(f.source.node),
  onTarget: subscriptionName(f.target.node),
});

/** A table whose difference outlasted every round: its rows per node and the keys that kept differing. */
export interface SettledDifference {
  table: string;
  source?: { rows: number };
  target?: { rows: number };
  sampleKeys?: DifferingKey[];
}

/** How many rounds a difference must outlast, how many tables and keys are followed; limits, not constants. */
export interface SettleLimits {
  rounds: number;
  maxTables: number;
  maxKeys: number;
  drainMs: number;
}

const DEFAULTS: SettleLimits = { rounds: 4, maxTables: 20, maxKeys: 500, drainMs: 120_000 };

/**
 * Waits until each node's slot has confirmed everything its node had written when the wait began; `from` limits it to
 * one direction (the other's subscription may be held).
 */
export async function drained(
  agents: Agents,
  f: PairFacts,
  slots: PairSlots,
  limitMs = DEFAULTS.drainMs,
  from: ReadonlyArray<'source' | 'target'> = ['source', 'target'],
) {
  const read = (n: PairFacts['source']) => agents.call(n.side, replicationStatusAction, {});
  const ends = { source: { n: f.source, slot: slots.onSource }, target: { n: f.target, slot: slots.onTarget } };
  const goal = await Promise.all(from.map(async (k) => ({ ...ends[k], lsn: (await read(ends[k].n)).walLsn })));
  let at = '';
  await poll(
    async () => {
      const now = await Promise.all(goal.map((g) => read(g.n)));
      const behind = goal.filter((g, i) => {
        const c = now[i]!.slots.find((s) => s.name === g.slot)?.confirmedFlushLsn ?? null;
        return c === null || compareLsn(c, g.lsn) < 0;
      });
      at = behind.map((g) => `${g.slot} on ${g.n.node} (up to ${g.lsn})`).join(', ');
      return behind.length === 0 ? true : undefined;
    },
    {
      timeoutMs: limitMs,
      intervalMs: 250,
      expired: () => {
        throw new PgduplexError('TIMEOUT', `replication did not catch up within ${limitMs / 1000} s: ${at}`, {
          hint: 'nothing was changed by this wait; check both directions with pgduplex status, then re-run',
        });
      },
    },
  );
}

type Keys = Map<string, string>;
const keyMap = (ks: readonly DifferingKey[]): Keys => new Map(ks.map((k) => [k.key, k.how]));

/**
 * Compares the pair's tables while both nodes take writes: a row written on one node moments ago differs until it
 * has arrived, so a difference counts only when the same key still differs, the same way, after the lag drained,
 * in every one of `rounds` rounds. Tables and keys beyond the limits count as differing.
 */
export async function settledDifferences(
  agents: Agents,
  f: PairFacts,
  slots: PairSlots,
  excluded: readonly string[],
  limits: Partial<SettleLimits> = {},
): Promise<{ tables: number; differences: SettledDifference[] }> {
  const l = { ...DEFAULTS, ...limits };
  const db = { database: f.database };
  const [a, b] = await Promise.all(
    [f.source, f.target].map((n) => agents.call(n.side, tablesChecksumAction, db, { timeoutMs: 3_600_000 })),
  );
  const names = [...new Set([...a!, ...b!].map((t) => t.table))].filter((t) => !excluded.includes(t)).sort();
  const rows = (xs: typeof a, t: string) => xs!.find((x) => x.table === t);
  const first = names.filter((t) => rows(a, t)?.rows !== rows(b, t)?.rows || rows(a, t)?.sum !== rows(b, t)?.sum);
  const result = (pending: ReadonlyMap<string, Keys | null>) => ({
    tables: names.length,
    differences: [...pending].map(([table, keys]) => {
      const [x, y] = [rows(a, table), rows(b, table)];
      const sample = keys ? [...keys].slice(0, 5).map(([key, how]) => ({ key, how })) : [];
      return {
        table,
        ...(x ? { source: { rows: x.rows } } : {}),
        ...(y ? { target: { rows: y.rows } } : {}),
        ...(sample.length > 0 ? { sampleKeys: sample } : {}),
      };
    }),
  });
  // A table missing on one node, or too many differing tables, is a difference no wait can settle.
  const followed = first.filter((t) => rows(a, t) && rows(b, t)).slice(0, l.maxTables);
  const pending = new Map<string, Keys | null>(first.filter((t) => !followed.includes(t)).map((t) => [t, null]));
  const open = new Map<string, Keys | null>(followed.map((t) => [t, null]));
  for (let round = 0; round <= l.rounds && open.size > 0; round++) {
    if (round > 0) await drained(agents, f, slots, l.drainMs);
    for (const [table, before] of open) {
      const now = await differingKeys(agents, f, table, { maxBuckets: 64, max: l.maxKeys });
      const keys = keyMap(now.keys);
      const kept = before === null ? keys : new Map([...before].filter(([k, how]) => keys.get(k) === how));
      if (now.complete && kept.size === 0) open.delete(table);
      else open.set(table, now.complete ? kept : null);
    }
  }
  for (const [t, k] of open) pending.set(t, k);
  return result(pending);
}
