import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { readManifest } from '../backup/manifest.js';
import { EXACT_COUNTS_SQL, restoreFromFile } from '../backup/pg-restore.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { sha256File } from './backup.js';
import { plannedChange } from './change.js';
import { backupRestoreChange } from '../../shared/protocol/data.js';
import type { AgentServices } from './context.js';

/**
 * `backup-restore`: proves a backup is usable by restoring it into a new scratch database and counting
 * its rows. It never restores over an existing database; undo drops the scratch database.
 */
export const backupRestoreAction = (s: AgentServices) =>
  plannedChange(backupRestoreChange, {
    // Each restore makes a new database: make verifies it by counting its rows instead of a second plan.
    oneShot: true,
    async plan({ id, into }) {
      const m = await readManifest(s.backupRoot, id);
      const cluster = await resolveCluster(s.postgresql);
      const t = { timeoutMs: s.limits.toolTimeoutMs, vars: { db: into } };
      const exists = await queryJson<boolean>(
        cluster,
        `select to_json(exists(select 1 from pg_database where datname = :'db'))`,
        t,
      );
      if (exists)
        throw new PgduplexError(
          'REFUSED',
          `database ${into} already exists; pgduplex restores only into a new database`,
          { hint: 'pick another scratch name' },
        );
      return {
        changes: [
          `create database ${into} and restore backup ${id} ` +
            `(${m.database}, ${(m.sizeBytes / 1048576).toFixed(1)} MiB) into it`,
        ],
        record: { database: into },
        state: { id, into, file: join(s.backupRoot, id, m.file), sha256: m.sha256, cluster, t },
      };
    },
    async make({ state: { id, into, file, sha256, cluster, t } }, rollback, ctx) {
      ctx?.progress(`verifying the checksum of ${id}`);
      if ((await sha256File(file)) !== sha256)
        throw new PgduplexError('CONFIG_INVALID', `backup ${id} does not match its manifest's checksum`, {
          hint: 'the file was changed or damaged after it was written; do not rely on it',
        });
      await runPsql(cluster, 'create database :"db";', t);
      ctx?.progress(`restoring ${id} into ${into}`);
      try {
        await restoreFromFile(cluster, file, into, s.limits.toolTimeoutMs * 20);
        const counts = await queryJson<Array<{ schema: string; name: string; rows: number }>>(
          cluster,
          EXACT_COUNTS_SQL,
          { timeoutMs: s.limits.toolTimeoutMs * 20, database: into },
        );
        return { notes: counts.map((c) => `${c.schema}.${c.name}: ${c.rows} rows`) };
      } catch (err) {
        await rollback(() => runPsql(cluster, 'drop database if exists :"db" with (force);', t));
        throw err;
      }
    },
    async undo({ database }) {
      const cluster = await resolveCluster(s.postgresql);
      await runPsql(cluster, 'drop database if exists :"db" with (force);', {
        timeoutMs: s.limits.toolTimeoutMs,
        vars: { db: database },
      });
      return [`dropped scratch database ${database}`];
    },
  });
