import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The hook the .deb ships in /etc/postgresql-common/pg_upgradecluster.d/: pg_upgradecluster copies neither conf.d
// nor pgduplex's passfile, and pg_upgrade keeps the pair's slots only with wal_level = logical in the new cluster.
const HOOK = 'packaging/pg-upgradecluster-hook';
let root: string;
const run = (...args: string[]) =>
  execa('sh', [HOOK, ...args], { env: { PGDUPLEX_PG_CONF_ROOT: root }, reject: false });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pgdx-hook-'));
  await mkdir(join(root, '17/main/conf.d'), { recursive: true });
  await mkdir(join(root, '18/main/conf.d'), { recursive: true });
  await writeFile(join(root, '17/main/conf.d/50-pgduplex.conf'), "wal_level = 'logical'\n", { mode: 0o644 });
  await writeFile(join(root, '17/main/pgduplex.pgpass'), 'host:5432:db:role:secret\n', { mode: 0o600 });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("pg_upgradecluster's pgduplex hook", () => {
  it('carries the drop-in and the passfile in the init phase, modes kept', async () => {
    const r = await run('17', 'main', '18', 'init');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(root, '18/main/conf.d/50-pgduplex.conf'), 'utf8')).toBe("wal_level = 'logical'\n");
    expect((await stat(join(root, '18/main/pgduplex.pgpass'))).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain('pgduplex: carried pgduplex.pgpass to 18/main');
  });

  it('does nothing in other phases, never overwrites, never follows a symlink', async () => {
    expect((await run('17', 'main', '18', 'finish')).exitCode).toBe(0);
    await expect(lstat(join(root, '18/main/pgduplex.pgpass'))).rejects.toThrow();
    await writeFile(join(root, '18/main/conf.d/50-pgduplex.conf'), 'mine\n');
    await rm(join(root, '17/main/pgduplex.pgpass'));
    await symlink('/etc/shadow', join(root, '17/main/pgduplex.pgpass'));
    expect((await run('17', 'main', '18', 'init')).exitCode).toBe(0);
    expect(await readFile(join(root, '18/main/conf.d/50-pgduplex.conf'), 'utf8')).toBe('mine\n');
    await expect(lstat(join(root, '18/main/pgduplex.pgpass'))).rejects.toThrow();
  });

  it('is a cluster without pgduplex: nothing to carry, no error', async () => {
    await rm(join(root, '17/main'), { recursive: true });
    await mkdir(join(root, '17/main'));
    const r = await run('17', 'main', '18', 'init');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
  });
});
