import { conflictsAdvanceAction, conflictsReadAction, rowsByKeyAction } from '../../shared/protocol/conflicts.js';
import type { ConflictCounts } from '../../shared/protocol/conflicts.js';
import { resolveCluster } from '../postgres/cluster.js';
import { linesOf, parseConflictLines } from '../postgres/conflict-log.js';
import { conflictCountersSql, keyColumnNames, ROWS_BY_KEY_SQL } from '../postgres/conflict-sql.js';
import { queryJson } from '../postgres/psql.js';
import { serverVersionNum } from '../postgres/server-version.js';
import { clusterLogPath, readLogSince } from '../postgres/settings-log.js';
import { ConflictBaselines, measureBaseline } from '../state/conflict-baseline.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';
import { noKeyError } from './table-slice.js';

/** As replication.errors reads it: the log's last half MiB. */
const TAIL_BYTES = 512 * 1024;

interface SubCounters {
  name: string;
  origin: string;
  statsReset: string | null;
  counters: ConflictCounts;
}

/** `conflicts.read`, `conflicts.advance`, `rows.hashes`: what status needs to turn conflict counters into facts. */
export const conflictHandlers = (s: AgentServices) => {
  const baselines = new ConflictBaselines(() => s.journal.dir);
  return [
    defineHandler({
      descriptor: conflictsReadAction,
      run: async ({ database }) => {
        const cluster = await resolveCluster(s.postgresql);
        const versionNum = await serverVersionNum(cluster, s.limits.toolTimeoutMs);
        const sql = conflictCountersSql(versionNum);
        if (sql === null) return { supported: false, serverVersionNum: versionNum, subscriptions: [] };
        const subs = await queryJson<SubCounters[]>(cluster, sql, { timeoutMs: s.limits.toolTimeoutMs, database });
        const kept = (await baselines.load())[database] ?? {};
        const now = new Date().toISOString();
        const steps = subs.map((sub) => ({ sub, step: measureBaseline(kept[sub.name], sub, now) }));
        for (const { sub, step } of steps) if (step.changed) await baselines.set(database, sub.name, step.baseline);
        const lines = steps.some((x) => x.step.risen.length > 0)
          ? parseConflictLines(await readLogSince(await clusterLogPath(cluster), 0, TAIL_BYTES))
          : [];
        return {
          supported: true,
          serverVersionNum: versionNum,
          subscriptions: steps.map(({ sub, step }) => ({
            subscription: sub.name,
            counters: sub.counters,
            statsReset: sub.statsReset,
            baseline: step.baseline,
            risen: step.risen,
            lines: step.risen.length > 0 ? linesOf(lines, sub, step.baseline.at).slice(-200) : [],
          })),
        };
      },
    }),
    defineHandler({
      descriptor: conflictsAdvanceAction,
      run: async ({ database, subscription, counters, statsReset }) => {
        const baseline = { counters, statsReset, at: new Date().toISOString() };
        await baselines.set(database, subscription, baseline);
        return { baseline };
      },
    }),
    defineHandler({
      descriptor: rowsByKeyAction,
      run: async (p) => {
        const r = await queryJson<{ noKey?: true; columns: string; rows: Array<{ key: string[]; hash: string }> }>(
          await resolveCluster(s.postgresql),
          ROWS_BY_KEY_SQL,
          {
            timeoutMs: s.limits.toolTimeoutMs,
            database: p.database,
            vars: { schema: p.schema, table: p.table, keys: JSON.stringify(p.keys) },
          },
        );
        if (r.noKey) throw noKeyError(p.schema, p.table);
        const found = new Map(r.rows.map((x) => [JSON.stringify(x.key), x]));
        return {
          columns: keyColumnNames(r.columns),
          rows: p.keys.map((key) => {
            const hit = found.get(JSON.stringify(key)) as { hash: string; committedAt?: string | null } | undefined;
            return { key, hash: hit?.hash ?? null, committedAt: hit?.committedAt ?? null };
          }),
        };
      },
    }),
  ];
};
