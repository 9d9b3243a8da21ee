import type { AgentServices } from './context.js';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { containedPath } from '../files/contained.js';
import { restoreFile, snapshotFile, writeFileAtomic, type FileSnapshot } from '../files/owned-file.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { followedCluster, followedPath } from '../state/cluster-follow.js';
import {
  blockRange,
  changedNames,
  locateTarget,
  ourFileErrors,
  readOwned,
  type SettingsTarget,
} from '../postgres/settings-file.js';
import {
  checkAgainstServer,
  describeTarget,
  planSettings,
  settled,
  waitingForRestart,
} from '../postgres/settings-plan.js';
import { readServerState, reloadConf, waitForState, type ServerState } from '../postgres/settings-server.js';
import { lookupUser } from '../system/users.js';
import { plannedChange, type ChangeAction } from './change.js';
import { pgSettingsChange } from '../../shared/protocol/postgres.js';
import type { Rollback } from '../state/journal.js';

/** How long a reload may take to show in new sessions. */
const SETTLE_MS = 5000;

interface Current {
  cluster: Cluster;
  target: SettingsTarget;
  snapshot: FileSnapshot;
  state: ServerState;
}

const RESTART_NOTE = 'PostgreSQL must restart for';

/** A reload-only apply changed no file, so there is nothing a failed rollback could leave behind. */
const ignoreRollbackFailure: Rollback = async (fn) => void (await fn().catch(() => undefined));

/** `pg-settings`: replication settings in a drop-in the agent owns, verified in pg_settings after reload. */
export const pgSettingsAction = (s: AgentServices) => {
  const opts = { timeoutMs: s.limits.toolTimeoutMs };
  const settle = { timeoutMs: opts.timeoutMs, settleMs: SETTLE_MS };
  const read = async (): Promise<Current> => {
    const cluster = await resolveCluster(s.postgresql);
    const state = await readServerState(cluster, opts.timeoutMs);
    const confPath = `${cluster.configDir}/postgresql.conf`;
    const located = locateTarget(cluster.configDir, await readFile(confPath, 'utf8'));
    const path = await containedPath(located.path, [cluster.configDir, cluster.dataDir], "pgduplex's settings file");
    const target = { ...located, path, ...(located.dir ? { dir: dirname(path) } : {}) };
    return { cluster, target, snapshot: await snapshotFile(target.path), state };
  };
  // After a reload: the settings we touched are live, or wait for a restart that PostgreSQL knows about.
  const reloadAndWait = async (cluster: Cluster, names: readonly string[]) => {
    await reloadConf(cluster, opts.timeoutMs);
    return waitForState(cluster, (st) => names.every((n) => settled(n, st)), settle);
  };
  const restoreAfterFailure = async (c: Current, reload: boolean): Promise<void> => {
    await restoreFile(c.snapshot);
    if (reload) await reloadConf(c.cluster, opts.timeoutMs).catch(() => undefined);
  };

  const action = plannedChange(pgSettingsChange, {
    async plan({ settings: given, merge }) {
      const c = await read();
      const settings = merge ? new Map([...readOwned(c.target, c.snapshot.content).settings, ...given]) : given;
      checkAgainstServer(settings, c.state);
      const plan = planSettings(c.target, c.snapshot.content, settings, c.state);
      if (plan.overrides.length > 0) {
        throw new PgduplexError(
          'PG_SETTING_OVERRIDDEN',
          "settings elsewhere would win over pgduplex's: " +
            `${plan.overrides.map((o) => `${o.name} = '${o.value}' in ${o.where}`).join('; ')}`,
          {
            hint: plan.overrides.some((o) => o.alterSystem)
              ? 'remove them (ALTER SYSTEM RESET <name>; select pg_reload_conf()), then retry; nothing was changed'
              : 'remove those lines, then retry; nothing was changed',
          },
        );
      }
      const unchanged = plan.newText === c.snapshot.content;
      return {
        changes: unchanged && !plan.reloadOnly ? [] : plan.changes,
        record: { cluster: { version: c.cluster.version, name: c.cluster.name }, snapshot: c.snapshot },
        state: { c, plan },
        ...(plan.restartNeeded ? { restartNeeded: true } : {}),
        // A reload-only apply changes no file: nothing to journal.
        ...(unchanged ? { journal: false } : {}),
      };
    },
    async make({ state: { c, plan }, journal }, journaled) {
      const rollback = journal === false ? ignoreRollbackFailure : journaled;
      if (plan.newText !== c.snapshot.content) await write(c, plan.newText);
      try {
        const written = await readServerState(c.cluster, opts.timeoutMs);
        const range = c.target.mode === 'block' && plan.newText !== null ? blockRange(plan.newText) : undefined;
        const errors = ourFileErrors(written.files, c.target, range, written.settings);
        if (errors.length > 0) {
          await rollback(() => restoreAfterFailure(c, false));
          throw new PgduplexError('PG_CONFIG_REJECTED', `PostgreSQL rejects the new settings: ${errors.join('; ')}`, {
            hint: 'the previous file was restored and nothing was reloaded; fix the value and retry',
          });
        }
        const after = await reloadAndWait(c.cluster, plan.touched);
        if (!after.settled) {
          const stuck = plan.touched.filter((n) => !settled(n, after.state));
          await rollback(() => restoreAfterFailure(c, true));
          throw new PgduplexError(
            'PG_CONFIG_REJECTED',
            `after a reload PostgreSQL still does not run ${stuck.join(', ')} ` +
              `as written in ${describeTarget(c.target)}`,
            {
              hint:
                'the previous file was restored and reloaded; ' +
                'look for a later setting or an error in the PostgreSQL log',
            },
          );
        }
        const waiting = waitingForRestart(plan.touched, after.state);
        return waiting.length > 0
          ? { restartNeeded: true, notes: [`${RESTART_NOTE} ${waiting.join(', ')} to take effect (pending_restart)`] }
          : { restartNeeded: false };
      } catch (err) {
        if (!(err instanceof PgduplexError && err.code === 'PG_CONFIG_REJECTED'))
          await rollback(() => restoreAfterFailure(c, true));
        throw err;
      }
    },
    async undo(record) {
      return undoSettings(followRecord(record, s), opts, settle);
    },
  });
  return {
    ...action,
    // The restart that takes a journaled change back names its journal entry, known once it is journaled.
    async apply(params, journal, ctx) {
      const r = await action.apply(params, journal, ctx);
      if (r.journalId === undefined || r.notes === undefined) return r;
      const id = r.journalId;
      return {
        ...r,
        notes: r.notes.map((n) =>
          n.startsWith(RESTART_NOTE) ? `${n}: pg-service.restart with restoreJournalId ${id}` : n,
        ),
      };
    },
  } satisfies ChangeAction<typeof pgSettingsChange.params, typeof pgSettingsChange.record>;
};

async function write(c: Current, text: string | null): Promise<void> {
  if (text === null) return restoreFile({ path: c.target.path, content: null });
  if (c.target.mode === 'block')
    return writeFileAtomic(c.target.path, text, {
      uid: c.snapshot.uid ?? 0,
      gid: c.snapshot.gid ?? 0,
      mode: c.snapshot.mode ?? 0o644,
    });
  const pg = await lookupUser('postgres');
  return writeFileAtomic(c.target.path, text, { uid: pg.uid, gid: pg.gid, mode: 0o644 });
}

/** A record made on a cluster a pg-upgrade replaced speaks of the cluster the node serves now (teardown after it). */
function followRecord(
  record: z.output<typeof pgSettingsChange.record>,
  s: AgentServices,
): z.output<typeof pgSettingsChange.record> {
  const was = { version: record.cluster.version, cluster: record.cluster.name };
  const now = followedCluster(was, s.follow.get());
  if (now === undefined || (now.version === was.version && now.cluster === was.cluster)) return record;
  const path = followedPath(record.snapshot.path, s.follow.get());
  return { cluster: { version: now.version, name: now.cluster }, snapshot: { ...record.snapshot, path } };
}

/**
 * Puts the file back byte for byte and reloads when PostgreSQL runs; a stopped server is fine
 * (pg-service.restart restores a setting PostgreSQL would not start with), it reads the file at start.
 */
async function undoSettings(
  record: z.output<typeof pgSettingsChange.record>,
  opts: { timeoutMs: number },
  settle: { timeoutMs: number; settleMs: number },
): Promise<string[]> {
  const cluster = await resolveCluster({ version: record.cluster.version, cluster: record.cluster.name });
  const replaced = await readFile(record.snapshot.path, 'utf8').catch(() => null);
  await restoreFile(record.snapshot);
  const done = [
    `restored ${record.snapshot.path}${record.snapshot.content === null ? ' (removed: it did not exist before)' : ''}`,
  ];
  try {
    await reloadConf(cluster, opts.timeoutMs);
  } catch (err) {
    if (err instanceof PgduplexError && err.code === 'PG_UNREACHABLE')
      return [...done, 'PostgreSQL is not running; it reads the restored settings when it starts'];
    throw err;
  }
  const names = changedNames(replaced, record.snapshot.content);
  const after = await waitForState(cluster, (st) => names.every((n) => settled(n, st)), settle);
  const waiting = waitingForRestart(names, after.state);
  return waiting.length > 0
    ? [...done, `PostgreSQL must restart for ${waiting.join(', ')} to take effect (pending_restart)`]
    : done;
}
