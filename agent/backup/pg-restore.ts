import { join } from 'node:path';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import { connectArgs, type Cluster } from '../postgres/cluster.js';
import { psqlScript, scriptError } from '../postgres/schema-dump.js';
import { createsSchemaLine } from '../postgres/schema-empty.js';
import { lookupUser } from '../system/users.js';

/** Feeds a root-only custom-format dump to `pg_restore` (run as postgres) on its stdin. */
export async function restoreFromFile(
  cluster: Cluster,
  file: string,
  database: string,
  timeoutMs: number,
  extra: string[] = [],
): Promise<void> {
  const pg = await lookupUser('postgres');
  const r = await execa(
    join(cluster.binDir, 'pg_restore'),
    ['--exit-on-error', ...extra, ...connectArgs(cluster, database)],
    {
      uid: pg.uid,
      gid: pg.gid,
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGAPPNAME: 'pgduplex-restore' },
      extendEnv: false,
      inputFile: file,
      reject: false,
      timeout: timeoutMs,
    },
  );
  if (r.exitCode !== 0) {
    const line = (r.stderr ?? '').split('\n').find((l) => l.trim() !== '') ?? `exit ${r.exitCode ?? r.signal}`;
    throw new PgduplexError(
      'PG_QUERY_FAILED',
      `pg_restore into ${database} failed: ${line.replace(/^pg_restore: (error: )?/, '')}`,
      {
        hint:
          r.code === 'ENOENT'
            ? `install postgresql-client-${cluster.version}`
            : 'the scratch database was dropped again; see the PostgreSQL log',
      },
    );
  }
}

/**
 * Drops a pg_restore script's GRANT/REVOKE lines for `role`, leaving COPY data untouched. Grants to
 * pgduplex's own role are pgduplex's journaled changes, not the operator's data; restoring them after
 * the role was dropped would fail the whole restore.
 */
export function withoutGrantsTo(role: string, skip?: RegExp): (line: unknown) => Generator<string> {
  const grant = new RegExp(`^(GRANT|REVOKE) .* (TO|FROM) "?${role}"?;$`);
  let inCopy = false;
  return function* (chunk: unknown) {
    const line = String(chunk);
    if (inCopy) inCopy = line !== '\\.';
    else if (/^COPY .* FROM stdin;$/.test(line)) inCopy = true;
    else if (grant.test(line) || skip?.test(line)) return;
    yield line;
  };
}

/**
 * Replaces one schema with its content in a custom-format dump, in one transaction: `prelude` (which
 * empties the schema) and the dump's script both apply, or nothing does. Streamed, never held in memory.
 * COMMIT is sent only once pg_restore has exited cleanly: a dump cut short ends the session, and with it
 * the transaction, before anything is committed.
 */
export async function restoreSchemaAtomically(
  cluster: Cluster,
  file: string,
  database: string,
  schema: string,
  prelude: string,
  opts: { timeoutMs: number; skipGrantsTo: string },
): Promise<void> {
  const pg = await lookupUser('postgres');
  const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGAPPNAME: 'pgduplex-restore' };
  const common = {
    uid: pg.uid,
    gid: pg.gid,
    cwd: '/',
    env,
    extendEnv: false,
    reject: false,
    timeout: opts.timeoutMs,
  } as const;
  // The prelude keeps the schema (and its extensions), so the script's own CREATE SCHEMA is left out.
  const script = execa(join(cluster.binDir, 'pg_restore'), ['-n', schema, '-f', '-'], {
    ...common,
    inputFile: file,
    buffer: { stdout: false },
    stdout: withoutGrantsTo(opts.skipGrantsTo, createsSchemaLine(schema)),
  });
  async function* feed(): AsyncGenerator<string> {
    yield `begin;\n${prelude}\n`;
    for await (const line of script.iterable({ preserveNewlines: true })) yield line;
    if ((await script).exitCode === 0) yield '\ncommit;\n';
  }
  const applied = await execa(join(cluster.binDir, 'psql'), psqlScript(cluster, database), {
    ...common,
    stdin: feed(),
  });
  if (script.exitCode === undefined) script.kill();
  const made = await script;
  // psql's error is the cause when both failed: pg_restore then only lost its reader.
  const r = applied.exitCode !== 0 ? applied : made.exitCode !== 0 ? made : undefined;
  if (r) {
    throw new PgduplexError(
      'PG_QUERY_FAILED',
      `restoring schema ${schema} of ${database} failed, nothing was changed: ${scriptError(r.stderr, r.exitCode)}`,
      {
        hint: 'see the PostgreSQL log; the backup is untouched',
      },
    );
  }
}

/** Exact row counts of every table, to compare a restore with its source. */
export const EXACT_COUNTS_SQL = `select coalesce(json_agg(json_build_object('schema', table_schema, 'name', table_name,
  'rows', (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', table_schema, table_name),
    false, true, '')))[1]::text::bigint)
  order by table_schema, table_name), '[]')
  from information_schema.tables
  where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
