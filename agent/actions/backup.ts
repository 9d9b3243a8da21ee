import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { dumpToFile } from '../backup/pg-dump.js';
import { backupId, readManifest, writeManifest } from '../backup/manifest.js';
import { ensureBackupRoot } from '../backup/backup-root.js';
import { peerBackupDecision, writesMark } from '../backup/peer-rate.js';
import { finishPartial, startPartial, sweepPartials } from '../backup/staging.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { plannedChange } from './change.js';
import { backupChange } from '../../shared/protocol/data.js';
import type { AgentServices } from './context.js';

const TABLES_SQL = (
  schema: string | undefined,
) => `select coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
    'rowEstimate', greatest(c.reltuples, 0)::bigint) order by n.nspname, c.relname), '[]')
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname not like 'pg_toast%'
  ${schema === undefined ? '' : `and n.nspname = :'schema'`}`;

/** Hashes a file, to prove a backup is still the one its manifest describes. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * `backup`: `pg_dump -Fc` of a database (or one schema) into /var/backups/pgduplex/<id>/ with a
 * manifest. Backups are kept: undoing one leaves the files and says where they are.
 */
export const backupAction = (s: AgentServices) => {
  const missing = (database: string, cluster: { version: string; name: string }) =>
    new PgduplexError('NOT_FOUND', `database ${database} does not exist in ${cluster.version}/${cluster.name}`);
  const change = plannedChange(backupChange, {
    // A new backup each time: make verifies the file it wrote and its manifest instead of a second plan.
    oneShot: true,
    async plan({ database, schema, schemaOnly }) {
      const cluster = await resolveCluster(s.postgresql);
      const { size } = await queryJson<{ size: number | null }>(
        cluster,
        // One row either way: a null size, not no output, for a database that does not exist.
        `select json_build_object('size', (select pg_database_size(datname) from pg_database where datname = :'db'))`,
        { timeoutMs: s.limits.toolTimeoutMs, vars: { db: database } },
      );
      if (size === null) throw missing(database, cluster);
      // The id is journaled ahead of the dump, so it is chosen here.
      const now = new Date();
      const id = backupId(now, database);
      return {
        changes: [
          `dump ${schemaOnly ? 'the definitions of ' : ''}${database}${schema ? ` (schema ${schema})` : ''} ` +
            `(${Math.round(size / 1048576)} MiB on disk) to ${s.backupRoot}/<new id>/`,
        ],
        record: { id },
        state: { cluster, database, schema, schemaOnly: schemaOnly === true, now, id },
      };
    },
    async make({ state: { cluster, database, schema, schemaOnly, now, id } }, _rollback, ctx) {
      const facts = await queryJson<{ v: string; exists: boolean }>(
        cluster,
        `select json_build_object('v', current_setting('server_version'),
          'exists', exists(select 1 from pg_database where datname = :'db'))`,
        { timeoutMs: s.limits.toolTimeoutMs, vars: { db: database } },
      );
      if (!facts.exists) throw missing(database, cluster);
      const tables = await queryJson<Array<{ schema: string; name: string; rowEstimate: number }>>(
        cluster,
        TABLES_SQL(schema),
        {
          timeoutMs: s.limits.toolTimeoutMs,
          database,
          ...(schema === undefined ? {} : { vars: { schema } }),
        },
      );
      const tightened = await ensureBackupRoot(s.backupRoot);
      const swept = await sweepPartials(s.backupRoot);
      const writes = await writesMark(cluster, { database, schema }, s.limits.toolTimeoutMs);
      const partial = await startPartial(s.backupRoot, id);
      let dir: string;
      try {
        let lastReport = 0;
        const target = { database, schema, schemaOnly };
        const dump = await dumpToFile(cluster, target, join(partial, `${database}.dump`), (bytes) => {
          const now2 = Date.now();
          if (now2 - lastReport < 1000) return;
          lastReport = now2;
          ctx?.progress(`dumped ${(bytes / 1048576).toFixed(1)} MiB of ${database}`, bytes);
        });
        if ((await sha256File(join(partial, `${database}.dump`))) !== dump.sha256)
          throw new PgduplexError('INTERNAL', `the backup file in ${partial} does not read back as written`);
        await writeManifest(partial, {
          version: 1,
          id,
          createdAt: now.toISOString(),
          cluster: `${cluster.version}/${cluster.name}`,
          serverVersion: facts.v,
          database,
          ...(schema === undefined ? {} : { schema }),
          ...(schemaOnly ? { schemaOnly } : {}),
          file: `${database}.dump`,
          sizeBytes: dump.bytes,
          sha256: dump.sha256,
          durationMs: dump.durationMs,
          writes,
          tables,
        });
        dir = await finishPartial(s.backupRoot, partial, id);
      } catch (err) {
        // A backup that did not finish is no backup: it goes, so it neither fills the disk nor passes for one.
        // Removed here rather than through the rollback: the journal then drops the entry as aborted.
        await rm(partial, { recursive: true, force: true }).catch(() => undefined);
        throw err;
      }
      return { artifact: id, notes: [`backup id ${id} in ${dir}`, ...tightened, ...swept] };
    },
    async undo({ id }) {
      await readManifest(s.backupRoot, id);
      return [
        `kept backup ${id} in ${join(s.backupRoot, id)}: backups are never deleted by an undo; ` +
          'remove it by hand if it is not needed',
      ];
    },
  });
  // A peer's request is held to limits.peerBackupIntervalMs (the gate refuses; here the same request is reused).
  const apply: typeof change.apply = async (params, journal, ctx) => {
    if (ctx?.origin !== 'peer') return change.apply(params, journal, ctx);
    const d = await peerBackupDecision(s, params);
    if (d.kind === 'refuse')
      throw new PgduplexError(
        'PEER_NOT_ALLOWED',
        `${s.node} does not let its peer ask backup.apply: limits.peerBackupIntervalMs ${d.why}`,
      );
    if (d.kind === 'new') return change.apply(params, journal, ctx);
    const age = Math.round(d.ageMs / 1000);
    return {
      changed: false,
      changes: [],
      artifact: d.id,
      notes: [
        `backup id ${d.id} in ${join(s.backupRoot, d.id)}`,
        `reused: taken ${age} s ago for the same request, and nothing was written to ${params.database} since`,
      ],
    };
  };
  return { ...change, apply };
};
