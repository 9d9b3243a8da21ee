import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listClusters, resolveCluster } from '../../../agent/postgres/cluster.js';
import { PgduplexError } from '../../../shared/errors.js';

let root: string;

async function cluster(version: string, name: string, conf: string): Promise<void> {
  await mkdir(join(root, version, name), { recursive: true });
  await writeFile(join(root, version, name, 'postgresql.conf'), conf);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pgdx-clusters-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Debian cluster detection', () => {
  it('reads version, name, port, data and socket dirs from the layout', async () => {
    await cluster('17', 'main', "data_directory = '/srv/pg17'\nport = 5433\n");
    const [c] = await listClusters(root);
    expect(c).toEqual({
      version: '17',
      name: 'main',
      configDir: join(root, '17', 'main'),
      dataDir: '/srv/pg17',
      port: 5433,
      socketDir: '/var/run/postgresql',
      service: 'postgresql@17-main',
      binDir: '/usr/lib/postgresql/17/bin',
    });
  });

  it('picks the only cluster when none is configured', async () => {
    await cluster('16', 'main', 'port = 5432\n');
    await mkdir(join(root, '16', 'broken'), { recursive: true });
    expect((await resolveCluster(undefined, root)).name).toBe('main');
  });

  it('refuses to guess between several clusters and says how to choose', async () => {
    await cluster('16', 'main', 'port = 5434\n');
    await cluster('17', 'main', 'port = 5433\n');
    const err = await resolveCluster(undefined, root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgduplexError);
    expect((err as PgduplexError).code).toBe('CLUSTER_AMBIGUOUS');
    expect((err as PgduplexError).message).toBe('several PostgreSQL clusters found: 17/main, 16/main');
    expect((err as PgduplexError).hint).toContain('"postgresql": {"version": "17", "cluster": "main"}');
    expect((await resolveCluster({ version: '16', cluster: 'main' }, root)).port).toBe(5434);
  });

  it('serves the cluster on 5432 when a newer major was installed beside it, or after pg_upgradecluster', async () => {
    await cluster('17', 'main', 'port = 5432\n');
    await cluster('18', 'main', 'port = 5433\n');
    expect((await resolveCluster(undefined, root)).version).toBe('17');
    await cluster('17', 'main', 'port = 5433\n');
    await cluster('18', 'main', 'port = 5432\n');
    expect((await resolveCluster(undefined, root)).version).toBe('18');
  });

  it('names what exists when the configured cluster does not', async () => {
    await cluster('17', 'main', '');
    const err = (await resolveCluster({ version: '18', cluster: 'main' }, root).catch(
      (e: unknown) => e,
    )) as PgduplexError;
    expect(err.code).toBe('CLUSTER_NOT_FOUND');
    expect(err.hint).toContain('found: 17/main');
  });

  it('reports no cluster at all', async () => {
    const err = (await resolveCluster(undefined, join(root, 'absent')).catch((e: unknown) => e)) as PgduplexError;
    expect(err.code).toBe('CLUSTER_NOT_FOUND');
  });
});
