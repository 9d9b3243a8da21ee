import { PgduplexError } from '../../shared/errors.js';
import { schemaDigestAction } from '../../shared/protocol/data.js';
import { hazardsAction } from '../../shared/protocol/facts.js';
import { watchGetAction, watchRecordAction, type WatchState } from '../../shared/protocol/watch.js';
import { whoamiAction } from '../../shared/protocol/control.js';
import { replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import { PGDUPLEX_OBJECT_PREFIX } from '../../shared/replication.js';
import type { Agents } from '../setup/agents.js';
import { pairFacts } from '../setup/gather.js';
import type { Report } from '../setup/runner.js';
import { howText, walkSlices } from '../verify/slices.js';
import { sliceReader, type CompareLimits } from '../verify/table-compare.js';
import { settleOrWait } from './lag.js';
import { addFound, finishTable, freshState, startPass, unsettledText, waitAt } from './state.js';

/** How much one round may do: its time, the pause between slices, how soon after the last round it may run. */
export interface RoundLimits extends CompareLimits {
  maxSeconds: number;
  pauseMs: number;
  minIntervalSeconds: number;
}

/** What a round did. */
export interface RoundResult {
  ran: boolean;
  slices: number;
  tablesFinished: number;
  state: WatchState;
  recordedOn: string[];
}

const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

/**
 * The pause after each slice: `pauseMs`, or as long as the slice took when that was longer, so a round works at most
 * half its time and a table of large rows (call records) costs the PBX no more per minute than one of small ones.
 */
export function pace(pauseMs: number, clock: () => number = Date.now): () => Promise<void> {
  let since = clock();
  return async () => {
    await sleep(Math.max(pauseMs, clock() - since));
    since = clock();
  };
}

/**
 * One round of the divergence watch: resumes the pass where the last round stopped (the state both agents keep),
 * walks tables in primary-key slices with a pause between slices until its time is up, settles differing slices
 * after the lag drained, and records the results on both nodes. A round within `minIntervalSeconds` of the last
 * one (run from either node) does nothing, so the timer may run on both nodes.
 */
export async function watchRound(
  agents: Agents,
  o: { database: string; limits: RoundLimits; report: Report; now?: () => Date },
): Promise<RoundResult> {
  const now = () => (o.now?.() ?? new Date()).toISOString();
  // The timer runs on every node with the package: one not paired or not replicating yet has nothing to watch.
  const [me, repl] = await Promise.all([
    agents.call('local', whoamiAction, {}),
    agents.call('local', replicationStatusAction, { database: o.database }),
  ]);
  const replicating = repl.subscriptions.some(
    (x) => x.database === o.database && x.name.startsWith(PGDUPLEX_OBJECT_PREFIX),
  );
  if (!me.peerAddress || !replicating) {
    const why = me.peerAddress ? `${o.database} is not replicated by pgduplex here` : 'this node is not paired';
    o.report('ok', me.node, `watch: nothing to watch: ${why}`);
    return { ran: false, slices: 0, tablesFinished: 0, state: freshState(o.database), recordedOn: [] };
  }
  const f = await pairFacts(agents, o.database, 'local');
  const kept = await agents.call('local', watchGetAction, {});
  let s = kept && kept.database === o.database ? kept : freshState(o.database);
  const since = s.lastRoundAt ? (Date.parse(now()) - Date.parse(s.lastRoundAt)) / 1000 : Infinity;
  if (since < o.limits.minIntervalSeconds) {
    o.report('ok', f.source.node, `watch: skipped, the last round ran ${Math.round(since)} s ago`);
    return { ran: false, slices: 0, tablesFinished: 0, state: s, recordedOn: [] };
  }
  const [digest, hz] = await Promise.all([
    agents.call('local', schemaDigestAction, { database: o.database }),
    agents.call('local', hazardsAction, { database: o.database }),
  ]);
  const excluded = new Set(hz.noReplicaIdentity.map((t) => t.table));
  const tables = Object.keys(digest)
    .filter((t) => !excluded.has(t))
    .sort();
  if (s.cursor.table === null || !tables.includes(s.cursor.table)) s = startPass(s, tables, now());
  const deadline = Date.now() + o.limits.maxSeconds * 1000;
  let slices = 0;
  let finished = 0;
  while (s.cursor.table !== null && Date.now() < deadline) {
    const [schema = 'public', table = ''] = s.cursor.table.split('.');
    const t = { schema, table };
    try {
      const walk = await walkSlices(sliceReader(agents, f, t), o.limits.sliceRows, {
        from: s.cursor.after,
        stop: () => Date.now() >= deadline,
        pause: pace(o.limits.pauseMs),
      });
      slices += walk.slices;
      const left = Math.max(10_000, deadline - Date.now());
      const settled = await settleOrWait(agents, f, t, walk.differing, { ...o.limits, drainMs: left });
      if ('reason' in settled) {
        // Rows in flight are not divergence: the walk waits at the first differing slice until the lag drained.
        s = waitAt(s, s.cursor.table, walk.differing[0]?.after ?? null, settled.reason, now());
        o.report('LAGGING', f.source.node, `watch: ${s.cursor.table}: ${unsettledText(settled.reason)}`);
        break;
      }
      s = addFound({ ...s, unsettled: null }, settled.rows, (r) => howText(r, f.source.node, f.target.node));
      if (walk.next !== null) s = { ...s, cursor: { ...s.cursor, after: walk.next } };
      else {
        s = finishTable(s, tables, now());
        finished += 1;
      }
    } catch (err) {
      // A table without a primary key cannot be walked by key: plain verify compares it; the watch moves on.
      if (!(err instanceof PgduplexError && err.code === 'REFUSED')) throw err;
      o.report('note', f.source.node, `watch: ${s.cursor.table} skipped: ${err.message}`);
      s = { ...s, cursor: { ...s.cursor, table: tables.find((x) => x > (s.cursor.table ?? '')) ?? null, after: null } };
      s = { ...s, tablesDone: s.tablesDone + 1, ...(s.cursor.table === null ? { lastPassAt: now() } : {}) };
    }
  }
  s = { ...s, lastRoundAt: now(), tablesTotal: tables.length };
  const recordedOn: string[] = [];
  for (const n of [f.source, f.target]) {
    await agents
      .call(n.side, watchRecordAction, { state: s })
      .then(() => recordedOn.push(n.node))
      .catch((err: unknown) =>
        o.report('note', n.node, `watch: results not recorded there: ${(err as Error).message}`),
      );
  }
  return { ran: true, slices, tablesFinished: finished, state: s, recordedOn };
}
