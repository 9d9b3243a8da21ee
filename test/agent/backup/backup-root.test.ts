import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureBackupRoot } from '../../../agent/backup/backup-root.js';

let dir: string;
let root: string;
const mode = async (p: string) => (await stat(p)).mode & 0o7777;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-backup-root-'));
  root = join(dir, 'pgduplex');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('ensureBackupRoot', () => {
  it('creates a missing directory 0700 and says nothing', async () => {
    expect(await ensureBackupRoot(root)).toEqual([]);
    expect(await mode(root)).toBe(0o700);
  });

  it('tightens a looser directory that already existed (0755, or a tmpfs 1777) to 0700, and says so', async () => {
    await mkdir(root, { mode: 0o755 });
    await chmod(root, 0o755);
    expect(await ensureBackupRoot(root)).toEqual([
      `tightened ${root} from mode 0755 to 0700 (backups are root's alone)`,
    ]);
    expect(await mode(root)).toBe(0o700);
    await chmod(root, 0o1777);
    expect(await ensureBackupRoot(root)).toHaveLength(1);
    expect(await mode(root)).toBe(0o700);
    expect(await ensureBackupRoot(root)).toEqual([]);
  });

  it('refuses a symlink in its place, leaving the directory it points to alone', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o755 });
    await chmod(elsewhere, 0o755);
    await symlink(elsewhere, root);
    await expect(ensureBackupRoot(root)).rejects.toMatchObject({
      code: 'REFUSED',
      message: `${root} is not a directory (a symlink)`,
    });
    expect(await mode(elsewhere)).toBe(0o755);
  });

  it('refuses a file in its place', async () => {
    await writeFile(root, 'x');
    await expect(ensureBackupRoot(root)).rejects.toMatchObject({ code: 'REFUSED' });
  });

  it.runIf(process.getuid?.() === 0)('refuses a directory someone else owns, changing nothing', async () => {
    await mkdir(root, { mode: 0o755 });
    await chmod(root, 0o755);
    await chown(root, 65534, 65534);
    await expect(ensureBackupRoot(root)).rejects.toMatchObject({
      code: 'REFUSED',
      message: expect.stringContaining('is owned by uid 65534'),
    });
    expect(await mode(root)).toBe(0o755);
  });
});
