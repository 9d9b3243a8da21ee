import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import { connectArgs, type Cluster } from '../postgres/cluster.js';
import { lookupUser } from '../system/users.js';

/** What a finished dump wrote. */
export interface DumpResult {
  bytes: number;
  sha256: string;
  durationMs: number;
}

/**
 * Runs `pg_dump -Fc` as the OS user postgres and streams its output into a root-only file, hashing
 * and counting on the way; a failed dump (a full disk, a dropped database) leaves no partial file.
 */
export async function dumpToFile(
  cluster: Cluster,
  target: { database: string; schema?: string | undefined; schemaOnly?: boolean | undefined },
  file: string,
  onBytes: (bytes: number) => void,
): Promise<DumpResult> {
  const pg = await lookupUser('postgres');
  const args = ['-Fc', ...connectArgs(cluster, target.database)];
  if (target.schema !== undefined) args.push('-n', target.schema);
  if (target.schemaOnly === true) args.push('--schema-only');
  const started = performance.now();
  const child = execa(join(cluster.binDir, 'pg_dump'), args, {
    uid: pg.uid,
    gid: pg.gid,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGAPPNAME: 'pgduplex-backup' },
    extendEnv: false,
    buffer: { stdout: false, stderr: true },
    reject: false,
    stdin: 'ignore',
  });
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(bytes);
      done(null, chunk);
    },
  });
  try {
    await pipeline(child.stdout, meter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    child.kill();
    await child;
    await unlink(file).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    throw new PgduplexError('INTERNAL', `writing the backup ${file} failed (${code ?? 'error'})`, {
      hint:
        code === 'ENOSPC'
          ? `the disk holding ${file} is full; free space there and retry`
          : 'check the backup directory',
      cause: err,
    });
  }
  const result = await child;
  if (result.exitCode !== 0) {
    await unlink(file).catch(() => undefined);
    const line =
      (result.stderr ?? '').split('\n').find((l) => l.trim() !== '') ?? `exit ${result.exitCode ?? result.signal}`;
    throw new PgduplexError(
      'PG_QUERY_FAILED',
      `pg_dump of ${target.database} failed: ${line.replace(/^pg_dump: (error: )?/, '')}`,
      {
        hint:
          result.code === 'ENOENT'
            ? `install postgresql-client-${cluster.version}`
            : 'check that the database exists and PostgreSQL is running',
      },
    );
  }
  return { bytes, sha256: hash.digest('hex'), durationMs: Math.round(performance.now() - started) };
}
