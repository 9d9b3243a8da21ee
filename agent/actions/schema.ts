import type { z } from 'zod';
import { schemaExportAction } from '../../shared/protocol/data.js';
import { PgduplexError } from '../../shared/errors.js';
import { streamResult } from '../../shared/channel/rpc.js';
import { readManifest } from '../backup/manifest.js';
import { markRestored } from '../backup/peer-rate.js';
import { restoreSchemaAtomically } from '../backup/pg-restore.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { applySqlScript, dumpSchema } from '../postgres/schema-dump.js';
import { emptySchemaSql } from '../postgres/schema-empty.js';
import { prepareDump, psqlHasRestrict, restrictedScript } from '../postgres/dump-text.js';
import {
  createImportRole,
  dropImportRole,
  IMPORT_ROLE,
  psqlVersion,
  runAsImportRole,
} from '../postgres/import-role.js';
import { handOver, importViolations, localOwner } from '../postgres/import-check.js';
import { plannedChange } from './change.js';
import { schemaImportChange } from '../../shared/protocol/data.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';
import { REPL_ROLE } from '../../shared/replication.js';

const MAX_SCHEMA_BYTES = 64 * 1024 * 1024;
const TABLES_SQL = `select coalesce(json_agg(c.relname order by c.relname), '[]')
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = :'schema' and c.relkind in ('r', 'p')`;
const OWNER_SQL = `select to_json(coalesce((select nspowner::regrole::text from pg_namespace where nspname = :'schema'),
  'pg_database_owner'))`;
// The dump carries no owners: the importer gives its objects to the role that owns most tables here.
const TABLE_OWNER_SQL = `select to_json(mode() within group (order by c.relowner::regrole::text))
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = :'schema' and c.relkind in ('r', 'p')`;
// Tables an import cut short left owned by its temporary role: nothing of the operator's, never checked.
const UNCHECKED_SQL = `select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = :'schema' and c.relkind in ('r', 'p') and c.relowner::regrole::text = '${IMPORT_ROLE}'`;
const ROWS_SQL = `select coalesce(sum(greatest(c.reltuples, 0))::bigint, 0)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = :'schema' and c.relkind = 'r'`;

/** `schema-export` (peer only): streams this node's schema to the peer that imports it. */
export const schemaExportHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: schemaExportAction,
    run: async ({ database, schema }) => {
      const cluster = await resolveCluster(s.postgresql);
      const tables = await queryJson<string[]>(cluster, TABLES_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database,
        vars: { schema },
      });
      const owner = await queryJson<string | null>(cluster, TABLE_OWNER_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database,
        vars: { schema },
      });
      const meta = { database, schema, tables, ...(owner === null ? {} : { owner }) };
      return streamResult(meta, dumpSchema(cluster, database, schema)) as never;
    },
  });

/**
 * `schema-import`: replaces this node's schema with the peer's. A schema that holds tables is only
 * dropped when the caller names how many (what will be destroyed) and a backup of it exists;
 * undo empties the schema again, or restores it from that backup.
 */
export const schemaImportAction = (s: AgentServices) => {
  const local = async (database: string, schema: string) => {
    const cluster = await resolveCluster(s.postgresql);
    const t = { timeoutMs: s.limits.toolTimeoutMs, database, vars: { schema } };
    return {
      cluster,
      tables: await queryJson<string[]>(cluster, TABLES_SQL, t),
      rows: await queryJson<number>(cluster, ROWS_SQL, t),
      unchecked: await queryJson<number>(cluster, UNCHECKED_SQL, t),
    };
  };
  const fetchDump = async (database: string, schema: string) => {
    const session = await s.peers.session();
    const { meta, data } = await session.rpc.callStream(
      schemaExportAction.name,
      { database, schema },
      { timeoutMs: s.limits.toolTimeoutMs },
    );
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const part of data) {
      size += part.length;
      if (size > MAX_SCHEMA_BYTES)
        throw new PgduplexError('FRAME_TOO_LARGE', `the peer's schema dump exceeds ${MAX_SCHEMA_BYTES} bytes`);
      parts.push(part);
    }
    return { meta, text: Buffer.concat(parts).toString('utf8'), size };
  };
  const undoImport = async (r: z.output<typeof schemaImportChange.record>): Promise<string[]> => {
    const cluster = await resolveCluster(s.postgresql);
    // An import cut short (kill -9) leaves its role, and what the role made goes with it.
    await dropImportRole(cluster, r.database, s.limits.toolTimeoutMs);
    if (r.backupId === null) {
      await applySqlScript(cluster, r.database, emptySchemaSql(r.schema, r.owner), s.limits.toolTimeoutMs);
      return [`emptied schema ${r.schema} of ${r.database} again`];
    }
    const m = await readManifest(s.backupRoot, r.backupId);
    await restoreSchemaAtomically(
      cluster,
      `${s.backupRoot}/${r.backupId}/${m.file}`,
      r.database,
      r.schema,
      emptySchemaSql(r.schema, r.owner),
      { timeoutMs: s.limits.toolTimeoutMs * 20, skipGrantsTo: REPL_ROLE },
    );
    // The backup holds what is here again: a re-run asking the peer's way for one more may have it back.
    await markRestored(cluster, s.backupRoot, m, r.schema, s.limits.toolTimeoutMs).catch(() => undefined);
    return [`restored schema ${r.schema} of ${r.database} from backup ${r.backupId}`];
  };
  return plannedChange(schemaImportChange, {
    // After an import the schema holds tables, so a second plan would refuse: make verifies the tables instead.
    oneShot: true,
    async plan({ database, schema, replace }) {
      const { cluster, tables, rows, unchecked } = await local(database, schema);
      const cutShort = tables.length > 0 && unchecked === tables.length;
      if (tables.length > 0 && !cutShort) {
        if (!replace || replace.tables !== tables.length) {
          throw new PgduplexError(
            'REFUSED',
            `schema ${schema} of ${database} on ${s.node} holds ${tables.length} tables; importing would destroy them`,
            {
              hint: `back it up, then pass replace: {tables: ${tables.length}, backupId} to confirm what is destroyed`,
            },
          );
        }
        const m = await readManifest(s.backupRoot, replace.backupId);
        if (m.database !== database || Date.now() - Date.parse(m.createdAt) > 3_600_000)
          throw new PgduplexError(
            'REFUSED',
            `backup ${replace.backupId} is not a backup of ${database} from the last hour`,
          );
      }
      const owner = await queryJson<string>(cluster, OWNER_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database,
        vars: { schema },
      });
      if (!/^[a-z_][a-z0-9_]*$/.test(owner))
        throw new PgduplexError(
          'REFUSED',
          `schema ${schema} is owned by ${owner}, a name pgduplex would have to quote`,
          { hint: 'give the schema an owner with a plain lower-case name' },
        );
      const peer = s.trust.peer?.node ?? 'the peer';
      return {
        changes: [
          tables.length === 0
            ? `import ${peer}'s schema ${schema} into the empty schema ${schema} of ${database}`
            : cutShort
              ? `import ${peer}'s schema ${schema} into ${database} again: an import cut short left ` +
                `${tables.length} tables that were never checked (emptied first)`
              : `REPLACE schema ${schema} of ${database} on ${s.node} ` +
                `(${tables.length} tables, about ${rows} rows, destroyed) with ${peer}'s`,
        ],
        record: { database, schema, owner, backupId: replace?.backupId ?? null },
        state: { cluster, database, schema, owner },
      };
    },
    async make({ state: { cluster, database, schema, owner }, record }, rollback, ctx) {
      const timeoutMs = s.limits.toolTimeoutMs;
      const version = await psqlVersion(cluster);
      if (!psqlHasRestrict(version))
        throw new PgduplexError('TOOL_MISSING', `psql ${version} cannot replay a dump restricted (no \\restrict)`, {
          hint: `upgrade postgresql-client-${cluster.version} (\\restrict came with 17.6, 16.10, 15.14 and 14.19)`,
        });
      ctx?.progress(`fetching schema ${schema} from the peer`);
      const { meta, text, size } = await fetchDump(database, schema);
      const dump = prepareDump(text, schema);
      if (dump.refused.length > 0)
        throw new PgduplexError('PEER_NOT_ALLOWED', `the peer's schema dump holds what no import runs`, {
          hint: `nothing was changed; refused: ${dump.refused.join('; ')}`,
        });
      const expected = [...((meta['tables'] as string[] | undefined) ?? [])].sort();
      const to = await localOwner(cluster, database, meta['owner'] as string | undefined, timeoutMs);
      const login = await createImportRole(cluster, database, schema, timeoutMs);
      try {
        // The role's login is proved before the schema is emptied, so a pg_hba.conf without it changes nothing.
        await runAsImportRole(cluster, database, login, restrictedScript('select 1;'), timeoutMs);
        await applySqlScript(cluster, database, emptySchemaSql(schema, owner), timeoutMs);
      } catch (err) {
        await dropImportRole(cluster, database, timeoutMs).catch(() => undefined);
        throw err;
      }
      ctx?.progress(`applying ${(size / 1024).toFixed(0)} KiB of schema in one transaction as ${IMPORT_ROLE}`);
      // From here the emptied schema is committed: a failure takes it back as its undo would.
      const undoAll = async (err: unknown): Promise<never> => {
        await rollback(() => undoImport(record));
        throw err;
      };
      try {
        await runAsImportRole(cluster, database, login, restrictedScript(dump.sql), timeoutMs * 10);
      } catch (err) {
        return undoAll(err);
      }
      const refused = await importViolations(cluster, database, schema, timeoutMs).catch(undoAll);
      if (refused.length > 0)
        return undoAll(
          new PgduplexError('PEER_NOT_ALLOWED', `the peer's schema makes what no import keeps: ${refused[0]}`, {
            hint:
              `rolled back (the schema emptied again, or restored from its backup); refused: ` +
              refused.slice(0, 10).join('; ') +
              (refused.length > 10 ? `; and ${refused.length - 10} more` : ''),
          }),
        );
      await handOver(cluster, database, schema, to, timeoutMs).catch(undoAll);
      const after = (await local(database, schema)).tables;
      if (after.join(',') !== expected.join(','))
        return undoAll(
          new PgduplexError('PG_QUERY_FAILED', `schema ${schema} does not hold the peer's tables after the import`, {
            hint: 'it was rolled back (the schema emptied again, or restored from its backup); retry',
          }),
        );
    },
    undo: undoImport,
  });
};
