import { chmod, lstat, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreFile, snapshotFile, writeFileAtomic } from '../../../agent/files/owned-file.js';
import { PgduplexError } from '../../../shared/errors.js';

// Real files in a temp dir: the agent writes into directories the postgres user can write (conf.d),
// so whatever stands or is swapped in there must never turn a write onto another file.
const root = process.getuid?.() === 0;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
let dir = '';
let victim = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-owned-'));
  victim = join(dir, 'identity.json');
  await writeFile(victim, 'secret key\n', { mode: 0o600 });
  await chmod(victim, 0o600);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const codeOf = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as PgduplexError).code;
const untouched = async () => {
  const st = await lstat(victim);
  expect(await readFile(victim, 'utf8')).toBe('secret key\n');
  expect(st.mode & 0o777).toBe(0o600);
  expect(st.uid).toBe(me.uid);
};

describe('writeFileAtomic', () => {
  it('writes the content with the owner and mode asked for, and leaves no temp file', async () => {
    const path = join(dir, '50-pgduplex.conf');
    await writeFileAtomic(path, 'wal_level = logical\n', { ...me, mode: 0o640 });
    expect(await readFile(path, 'utf8')).toBe('wal_level = logical\n');
    expect((await lstat(path)).mode & 0o777).toBe(0o640);
    expect((await readdir(dir)).sort()).toEqual(['50-pgduplex.conf', 'identity.json']);
  });

  it('refuses a symlink standing where its temp file goes, and the file it points at stays as it was', async () => {
    const path = join(dir, '50-pgduplex.conf');
    const tmp = join(dir, '.planted');
    await symlink(victim, tmp);
    expect(await codeOf(writeFileAtomic(path, 'x\n', { ...me, mode: 0o644 }, { tempName: () => tmp }))).toBe(
      'FILE_TAMPERED',
    );
    await untouched();
    expect(await lstat(path).catch(() => undefined)).toBeUndefined();
  });

  it.runIf(root)(
    'sets owner and mode on its own handle: a symlink swapped over the temp file before the rename gains nothing',
    async () => {
      const path = join(dir, '50-pgduplex.conf');
      await writeFile(path, 'old\n');
      const swap = async (tmp: string) => {
        await rm(tmp);
        await symlink(victim, tmp);
      };
      const written = writeFileAtomic(path, 'new\n', { uid: 65534, gid: 65534, mode: 0o644 }, { beforeRename: swap });
      expect(await codeOf(written)).toBe('FILE_TAMPERED');
      await untouched();
      expect(await readFile(path, 'utf8')).toBe('old\n');
    },
  );

  it('finds out a temp file replaced by another file before the rename, and puts nothing in place', async () => {
    const path = join(dir, '50-pgduplex.conf');
    const swap = async (tmp: string) => {
      await writeFile(join(dir, 'forged'), 'forged\n');
      await rename(join(dir, 'forged'), tmp);
    };
    expect(await codeOf(writeFileAtomic(path, 'mine\n', { ...me, mode: 0o644 }, { beforeRename: swap }))).toBe(
      'FILE_TAMPERED',
    );
    expect(await lstat(path).catch(() => undefined)).toBeUndefined();
  });
});

describe('snapshotFile', () => {
  it('reads content, mode and owner, and a missing file as null content', async () => {
    expect(await snapshotFile(victim)).toEqual({ path: victim, content: 'secret key\n', mode: 0o600, ...me });
    expect(await snapshotFile(join(dir, 'absent'))).toEqual({ path: join(dir, 'absent'), content: null });
  });

  it('never reads through a symlink: the key it points at does not end up in a snapshot', async () => {
    const link = join(dir, 'pg_hba.conf');
    await symlink(victim, link);
    const err = await snapshotFile(link).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgduplexError);
    expect((err as PgduplexError).code).toBe('REFUSED');
    expect((err as PgduplexError).message).toContain('is not a regular file');
  });

  it('restores a snapshot byte for byte, or removes a file that did not exist', async () => {
    const snap = await snapshotFile(victim);
    await writeFile(victim, 'changed\n');
    await restoreFile(snap);
    await untouched();
    await restoreFile({ path: victim, content: null });
    expect(await lstat(victim).catch(() => undefined)).toBeUndefined();
  });
});
