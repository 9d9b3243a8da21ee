import { poll } from '../../shared/poll.js';
import { PgduplexError } from '../../shared/errors.js';
import { pgServiceReloadAction, pgServiceRestartAction, pgSettingsChange } from '../../shared/protocol/postgres.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { clusterLogPath, logSize, readLogSince, startFailureLines } from '../postgres/settings-log.js';
import { controlVia, reloadCluster, startCluster, type Via } from '../postgres/settings-service.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Bounds: how long a start may take before PostgreSQL counts as not coming up. */
export interface PgServiceOptions {
  startTimeoutMs?: number;
  /** Where the systemd marker and Debian's log directory are (parameters for tests and other layouts). */
  systemdMarker?: string;
  logRoot?: string;
}

const PENDING_SQL = `select coalesce(json_agg(name order by name), '[]'::json) from pg_settings where pending_restart`;

/** `pg-service.reload` and `pg-service.restart`: through systemd when it is PID 1, else pg_ctlcluster. */
export const pgServiceHandlers = (
  s: AgentServices,
  undoEntry: (id: string) => Promise<string[]>,
  opts: PgServiceOptions = {},
) => {
  const timeoutMs = s.limits.toolTimeoutMs;
  const startTimeoutMs = opts.startTimeoutMs ?? Math.max(60_000, timeoutMs);
  const where = (c: Cluster) => `${c.version}/${c.name}`;
  const via = () => controlVia(opts.systemdMarker);
  const pending = (c: Cluster) => queryJson<string[]>(c, PENDING_SQL, { timeoutMs });
  const bringUp = (verb: 'restart' | 'start', c: Cluster, v: Via) =>
    startCluster(verb, c, v, { timeoutMs, startTimeoutMs });
  const logLines = async (path: string, offset: number): Promise<string> => {
    const lines = startFailureLines(await readLogSince(path, offset));
    return lines.length > 0 ? lines.map((l) => `  ${l}`).join('\n') : `  (nothing new in ${path})`;
  };

  const reload = defineHandler({
    descriptor: pgServiceReloadAction,
    run: async () => {
      const cluster = await resolveCluster(s.postgresql);
      const v = await via();
      const started = Date.now();
      const before = await runPsql(cluster, 'select pg_conf_load_time()', { timeoutMs });
      await reloadCluster(cluster, v, timeoutMs);
      // New sessions report the postmaster's load time: a later one means the reload was processed.
      await poll(
        async () => (await runPsql(cluster, 'select pg_conf_load_time()', { timeoutMs })) !== before || undefined,
        {
          timeoutMs,
          intervalMs: 100,
          expired: () => {
            throw new PgduplexError(
              'TIMEOUT',
              `PostgreSQL ${where(cluster)} did not re-read its configuration within ${timeoutMs} ms`,
              { hint: 'check the PostgreSQL log' },
            );
          },
        },
      );
      return {
        cluster: where(cluster),
        via: v,
        readyAfterMs: Date.now() - started,
        pendingRestart: await pending(cluster),
      };
    },
  });

  const restart = defineHandler({
    descriptor: pgServiceRestartAction,
    run: async ({ restoreJournalId }) => {
      const cluster = await resolveCluster(s.postgresql);
      const entry = restoreJournalId === undefined ? undefined : await s.journal.get(restoreJournalId);
      if (entry && (entry.action !== pgSettingsChange.name || entry.undone)) {
        throw new PgduplexError(
          'BAD_PARAMS',
          `journal entry ${entry.id} is ` +
            `${entry.undone ? 'already undone' : `a ${entry.action} change, not pg-settings`}`,
          { hint: 'pass the journalId that pg-settings.apply returned, or none' },
        );
      }
      const v = await via();
      const log = await clusterLogPath(cluster, opts.logRoot);
      const offset = await logSize(log);
      const started = Date.now();
      const first = await bringUp('restart', cluster, v);
      if (first.up)
        return {
          cluster: where(cluster),
          via: v,
          readyAfterMs: Date.now() - started,
          pendingRestart: await pending(cluster),
        };

      const failure = first.reason;
      const lines = await logLines(log, offset);
      if (!first.definite) {
        throw new PgduplexError(
          'PG_START_FAILED',
          `PostgreSQL ${where(cluster)} is not accepting connections after a restart (${failure}); ` +
            'it may still be starting (crash recovery can take long), so nothing was restored. ' +
            `From ${log}:\n${lines}`,
          {
            hint:
              `wait and watch "systemctl status ${cluster.service}"; ` +
              'to take back a settings change use journal.undo with its id, then pg-service.restart',
          },
        );
      }
      if (entry === undefined) {
        throw new PgduplexError(
          'PG_START_FAILED',
          `PostgreSQL ${where(cluster)} did not come up after a restart (${failure}). From ${log}:\n${lines}`,
          {
            hint:
              'fix what the log names; ' +
              'to take back a settings change use journal.undo with its id, then pg-service.restart',
          },
        );
      }
      const restored = await undoEntry(entry.id);
      const again = await bringUp('start', cluster, v);
      if (!again.up) {
        throw new PgduplexError(
          'PG_START_FAILED',
          `PostgreSQL ${where(cluster)} did not come up with the settings of journal entry ${entry.id} (${failure}), ` +
            `nor after they were taken back (${again.reason}; ${restored.join('; ')}). From ${log}:\n${lines}`,
          {
            hint: `PostgreSQL is down: check "systemctl status ${cluster.service}" and the log`,
          },
        );
      }
      throw new PgduplexError(
        'PG_START_FAILED',
        `PostgreSQL ${where(cluster)} did not come up with the settings of journal entry ${entry.id} (${failure}); ` +
          `the previous settings were restored and PostgreSQL is running again. From ${log}:\n${lines}`,
        {
          hint: 'fix the setting the log lines name, then apply pg-settings again',
        },
      );
    },
  });

  return [reload, restart];
};
