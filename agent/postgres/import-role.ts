// The role a peer's schema is replayed as: a login that cannot run programs, create roles or reach past one
// schema, made for one import with a random password and dropped when it ends.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import type { Cluster } from './cluster.js';
import { runPsql } from './psql.js';
import { psqlSet } from './hba-names.js';
import { QUIET, scrub } from './role-sql.js';
import { scramVerifier } from './scram.js';
import { scriptError } from './schema-dump.js';
import { lookupUser } from '../system/users.js';

/** The temporary role's name; a role of that name pgduplex did not make is never touched. */
export const IMPORT_ROLE = 'pgduplex_import';
/** The comment that marks the import role as pgduplex's own (a leftover of it may be dropped). */
export const IMPORT_ROLE_MARK = 'pgduplex: temporary role of one schema import, dropped when it ends';

/** A temporary import role's login, held only in the agent's memory. */
export interface ImportLogin {
  password: string;
}

// A leftover of an import cut short (kill -9) is ours by its comment: what it still owns here goes with it. Tables
// a schema carry lent it (their owners in the comment, after " lent: ") are given back first, never dropped.
const DROP_OURS = `do $pgduplex$
declare
  mark text;
  lent jsonb;
  t text;
  o text;
begin
  if exists (select from pg_roles where rolname = '${IMPORT_ROLE}') then
    mark := coalesce(shobj_description((select oid from pg_roles where rolname = '${IMPORT_ROLE}'), 'pg_authid'), '');
    if mark <> '${IMPORT_ROLE_MARK}' and mark not like '${IMPORT_ROLE_MARK} lent: %' then
      raise exception 'a role ${IMPORT_ROLE} exists that pgduplex did not make';
    end if;
    perform pg_catalog.pg_terminate_backend(pid, 5000) from pg_catalog.pg_stat_activity
      where usename = '${IMPORT_ROLE}';
    if mark like '${IMPORT_ROLE_MARK} lent: %' then
      lent := pg_catalog.substr(mark, pg_catalog.length('${IMPORT_ROLE_MARK} lent: ') + 1)::jsonb;
      for t, o in select key, value from pg_catalog.jsonb_each_text(lent) loop
        if exists (select from pg_catalog.pg_class where oid = pg_catalog.to_regclass(t)
            and relowner = (select oid from pg_catalog.pg_roles where rolname = '${IMPORT_ROLE}')) then
          execute pg_catalog.format('alter table %s owner to %I', pg_catalog.to_regclass(t), o);
        end if;
      end loop;
    end if;
    drop owned by ${IMPORT_ROLE};
    drop role ${IMPORT_ROLE};
  end if;
end $pgduplex$;
`;

/**
 * Makes the import role (dropping a leftover of ours first) with USAGE and CREATE on `schema` only; `lent` (qualified
 * table name to owner) is written into its comment before any table is lent, so a leftover gives them back.
 */
export async function createImportRole(
  cluster: Cluster,
  database: string,
  schema: string,
  timeoutMs: number,
  lent: Record<string, string> = {},
): Promise<ImportLogin> {
  const password = randomBytes(24).toString('base64url');
  const verifier = await scramVerifier(password);
  const until = new Date(Date.now() + 3_600_000).toISOString();
  const sql =
    `${psqlSet('verifier', verifier)}${psqlSet('until', until)}${QUIET}BEGIN;\n${DROP_OURS}` +
    `CREATE ROLE ${IMPORT_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT ` +
    `CONNECTION LIMIT 2 VALID UNTIL :'until' PASSWORD :'verifier';\n` +
    `COMMENT ON ROLE ${IMPORT_ROLE} IS :'mark';\n` +
    `GRANT CONNECT ON DATABASE :"database" TO ${IMPORT_ROLE};\n` +
    `GRANT USAGE, CREATE ON SCHEMA :"schema" TO ${IMPORT_ROLE};\nCOMMIT;\n`;
  try {
    const mark =
      Object.keys(lent).length === 0 ? IMPORT_ROLE_MARK : `${IMPORT_ROLE_MARK} lent: ${JSON.stringify(lent)}`;
    await runPsql(cluster, sql, { database, timeoutMs, vars: { database, schema, mark } });
  } catch (err) {
    throw scrub(err, [password, verifier]);
  }
  return { password };
}

/** Drops the import role and whatever it still owns in `database`; a no-op when it is gone already. */
export async function dropImportRole(cluster: Cluster, database: string, timeoutMs: number): Promise<void> {
  await runPsql(cluster, DROP_OURS, { database, timeoutMs });
}

/**
 * Runs `script` with psql as the import role over 127.0.0.1 (FS PBX's installer leaves `host all all
 * 127.0.0.1/32 md5`), in one transaction that stops at the first error. The OS user is postgres, who owns
 * the cluster already; the password reaches psql in its environment, never its argv.
 */
export async function runAsImportRole(
  cluster: Cluster,
  database: string,
  login: ImportLogin,
  script: string,
  timeoutMs: number,
): Promise<void> {
  const pg = await lookupUser('postgres');
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-h', '127.0.0.1'];
  const r = await execa(
    join(cluster.binDir, 'psql'),
    [...args, '-p', String(cluster.port), '-U', IMPORT_ROLE, '-d', database, '-f', '-'],
    {
      uid: pg.uid,
      gid: pg.gid,
      cwd: '/',
      env: {
        PATH: '/usr/bin:/bin',
        LANG: 'C.UTF-8',
        PGAPPNAME: 'pgduplex-import',
        PGPASSWORD: login.password,
        PGCONNECT_TIMEOUT: '5',
      },
      extendEnv: false,
      input: script,
      reject: false,
      timeout: timeoutMs,
    },
  );
  if (r.exitCode === 0) return;
  const why = scriptError(r.stderr, r.exitCode).split(login.password).join('[redacted]');
  if (r.exitCode === 2)
    throw new PgduplexError('PG_UNREACHABLE', `the import role cannot log in to ${database} over 127.0.0.1: ${why}`, {
      hint:
        `the import runs as the temporary role ${IMPORT_ROLE} over TCP: pg_hba.conf needs a line such as ` +
        `"host ${database} all 127.0.0.1/32 scram-sha-256" ` +
        `(FS PBX's installer leaves "host all all 127.0.0.1/32 md5") ` +
        `and listen_addresses must include localhost`,
    });
  throw new PgduplexError('PG_QUERY_FAILED', `the peer's schema did not apply to ${database}: ${why}`);
}

/** The installed psql's version ("17.12"), read once per binary directory. */
export async function psqlVersion(cluster: Cluster): Promise<string> {
  const cached = versions.get(cluster.binDir);
  if (cached) return cached;
  const r = await execa(join(cluster.binDir, 'psql'), ['--version'], { reject: false, timeout: 10_000 });
  const version = /\(PostgreSQL\) (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
  versions.set(cluster.binDir, version);
  return version;
}
const versions = new Map<string, string>();
