import { execa } from 'execa';
import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { lookupUser, type OsUser } from '../system/users.js';
import { connectArgs, type Cluster } from './cluster.js';

/** Options for one psql run; the timeout is a limit the config sets, not a constant. */
export interface PsqlOptions {
  database?: string;
  timeoutMs: number;
  /** psql variables, used in SQL as :'name' (a literal) or :"name" (an identifier): never spliced by us. */
  vars?: Record<string, string>;
}

let postgresUser: Promise<OsUser> | undefined;

/**
 * Runs SQL as the OS user postgres over the cluster's unix socket (Debian's `local all postgres peer`),
 * so no password exists; the SQL goes on stdin so nothing in it ever shows in a process list.
 */
export async function runPsql(cluster: Cluster, sql: string, opts: PsqlOptions): Promise<string> {
  postgresUser ??= lookupUser('postgres').catch((err: unknown) => {
    postgresUser = undefined;
    throw err;
  });
  const user = await postgresUser;
  const psql = join(cluster.binDir, 'psql');
  const result = await execa(
    psql,
    [
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      ...connectArgs(cluster, opts.database ?? 'postgres'),
      ...psqlVars(opts.vars),
      '-f',
      '-',
    ],
    {
      input: sql,
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGAPPNAME: 'pgduplex-agent', PGCONNECT_TIMEOUT: '3' },
      extendEnv: false,
      timeout: opts.timeoutMs,
      reject: false,
      stripFinalNewline: true,
    },
  );
  if (result.failed) throw psqlError(cluster, result, opts.timeoutMs);
  return result.stdout;
}

/** Runs a query that returns one JSON value (e.g. `select json_build_object(...)`) and parses it. */
export async function queryJson<T>(cluster: Cluster, sql: string, opts: PsqlOptions): Promise<T> {
  const out = await runPsql(cluster, sql, opts);
  try {
    return JSON.parse(out) as T;
  } catch (err) {
    throw new PgduplexError('PG_QUERY_FAILED', 'psql returned output that is not JSON', { cause: err });
  }
}

function psqlVars(vars: Record<string, string> | undefined): string[] {
  return Object.entries(vars ?? {}).flatMap(([k, v]) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(k) || /[\n\r\0]/.test(v))
      throw new PgduplexError('BAD_PARAMS', `psql variable ${k} is not usable`);
    return ['-v', `${k}=${v}`];
  });
}

interface FailedRun {
  code?: string | undefined;
  timedOut: boolean;
  exitCode?: number | undefined;
  stderr: string;
}

function psqlError(cluster: Cluster, run: FailedRun, timeoutMs: number): PgduplexError {
  const where = `${cluster.version}/${cluster.name}`;
  if (run.code === 'ENOENT') {
    return new PgduplexError('TOOL_MISSING', `psql for PostgreSQL ${cluster.version} is not installed`, {
      hint: `install postgresql-client-${cluster.version}`,
    });
  }
  if (run.timedOut) {
    return new PgduplexError('PG_UNREACHABLE', `PostgreSQL ${where} did not answer within ${timeoutMs} ms`, {
      hint: `check "systemctl status ${cluster.service}"`,
    });
  }
  const reason = firstLine(run.stderr);
  if (run.exitCode === 2) {
    return new PgduplexError('PG_UNREACHABLE', `PostgreSQL ${where} is not accepting connections: ${reason}`, {
      hint: `start it with "systemctl start ${cluster.service}" and check its log`,
    });
  }
  return new PgduplexError('PG_QUERY_FAILED', `query on PostgreSQL ${where} failed: ${reason}`);
}

function firstLine(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.trim() !== '') ?? 'no error text';
  return line.replace(/^psql:(\S+:\d+: )?\s*(error|ERROR|FATAL):\s*/, '').trim();
}
