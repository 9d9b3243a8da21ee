import { join } from 'node:path';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import { connectArgs, type Cluster } from './cluster.js';
import { lookupUser } from '../system/users.js';

const childEnv = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGAPPNAME: 'pgduplex-schema' };

// What the importer accepts: no owners, grants, security labels or tablespaces (it hands ownership to its own
// owners and grants the pair's role itself); every flag exists in pg_dump 13 and later.
const EXPORT_FLAGS = ['--schema-only', '--no-owner', '--no-privileges', '--no-security-labels', '--no-tablespaces'];

/** Streams `pg_dump --schema-only` of one schema as it is written, run as the OS user postgres. */
export async function* dumpSchema(cluster: Cluster, database: string, schema: string): AsyncGenerator<Uint8Array> {
  const pg = await lookupUser('postgres');
  const child = execa(
    join(cluster.binDir, 'pg_dump'),
    [...EXPORT_FLAGS, '-n', schema, ...connectArgs(cluster, database)],
    {
      uid: pg.uid,
      gid: pg.gid,
      cwd: '/',
      env: childEnv,
      extendEnv: false,
      buffer: { stdout: false, stderr: true },
      reject: false,
      stdin: 'ignore',
    },
  );
  for await (const chunk of child.stdout) yield chunk as Uint8Array;
  const r = await child;
  if (r.exitCode !== 0)
    throw new PgduplexError(
      'PG_QUERY_FAILED',
      `pg_dump --schema-only of ${database} failed: ${(r.stderr ?? '').split('\n')[0] ?? r.exitCode}`,
    );
}

/** psql reading a script on stdin that stops at its first error; the script opens and ends its own transaction. */
export function psqlScript(cluster: Cluster, database: string): string[] {
  return ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...connectArgs(cluster, database), '-f', '-'];
}

/** psql's argv that applies the script on stdin in one transaction, stopping at the first error. */
export function psqlOneTransaction(cluster: Cluster, database: string): string[] {
  return ['--single-transaction', ...psqlScript(cluster, database)];
}

/** The line of a failed psql or pg_restore run's stderr that says why, without the tool's prefix. */
export function scriptError(stderr: string | undefined, exitCode: number | undefined): string {
  const lines = (stderr ?? '').split('\n');
  const line = lines.find((l) => /ERROR|FATAL|error:/.test(l)) ?? lines[0] ?? `exit ${exitCode}`;
  return line.replace(/^(psql:[^:]*:\d+: |pg_restore: (error: )?)/, '');
}

/**
 * Applies SQL text pgduplex wrote itself (or read from its own backup) with psql as postgres, in one
 * transaction, stopping at the first error. Never the peer's text: that goes through runAsImportRole.
 */
export async function applySqlScript(
  cluster: Cluster,
  database: string,
  script: string,
  timeoutMs: number,
): Promise<void> {
  const pg = await lookupUser('postgres');
  const r = await execa(join(cluster.binDir, 'psql'), psqlOneTransaction(cluster, database), {
    uid: pg.uid,
    gid: pg.gid,
    cwd: '/',
    env: childEnv,
    extendEnv: false,
    input: script,
    reject: false,
    timeout: timeoutMs,
  });
  if (r.exitCode !== 0)
    throw new PgduplexError(
      'PG_QUERY_FAILED',
      `applying the schema to ${database} failed, nothing was changed: ${scriptError(r.stderr, r.exitCode)}`,
    );
}
