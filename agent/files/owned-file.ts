import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';

/** A file's full state before a change: enough to put it back byte for byte (null: it did not exist). */
export interface FileSnapshot {
  path: string;
  content: string | null;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** The first line of every file (or block) the agent writes, so a person knows who owns it. */
export const OWNED_HEADER = '# Managed by pgduplex-agent: edits here are overwritten; change it with pgduplex.';

/** open(2) flags that read a file without following a symlink in its place (nor blocking on a FIFO). */
export const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Where the temp file goes; tests name it to put something in its way. */
export interface WriteOptions {
  tempName?: (path: string) => string;
  /** Runs between creating the temp file and renaming it into place: tests race the agent there. */
  beforeRename?: (tmp: string) => Promise<void>;
}

const randomTemp = (path: string) =>
  join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.pgduplex-tmp`);

/**
 * Reads a file's content, mode and owner through one handle opened without following a symlink, so
 * what is read is the file whose owner was checked; a missing file is a snapshot with null content.
 */
export async function snapshotFile(path: string): Promise<FileSnapshot> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path, content: null };
    if (code === 'ELOOP') throw notRegular(path);
    throw fileError(path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(path);
    return { path, content: await fh.readFile('utf8'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (err) {
    throw fileError(path, err);
  } finally {
    await fh.close();
  }
}

/**
 * Replaces a file atomically: a temp file beside it created exclusively (never through a symlink),
 * owner and mode set on its open handle, fsync, rename, fsync of the directory. Readers see the old
 * or the new file, never half of one; in a directory another user can write (conf.d belongs to
 * postgres), no path-based chown or chmod can be turned onto another file, and a temp file swapped
 * before the rename is found out and taken away again.
 */
export async function writeFileAtomic(
  path: string,
  content: string,
  owner: { uid: number; gid: number; mode: number },
  o: WriteOptions = {},
): Promise<void> {
  const tmp = (o.tempName ?? randomTemp)(path);
  let created = false;
  try {
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    created = true;
    let ino: number;
    try {
      await fh.chown(owner.uid, owner.gid);
      await fh.chmod(owner.mode);
      await fh.writeFile(content);
      await fh.sync();
      ino = (await fh.stat()).ino;
    } finally {
      await fh.close();
    }
    await o.beforeRename?.(tmp);
    const placed = await lstat(tmp);
    if (!placed.isFile() || placed.ino !== ino) throw swapped(path, 'nothing was written');
    await rename(tmp, path);
    created = false;
    // What the rename moved must be the file written: else it was swapped after the check above.
    if ((await lstat(path)).ino !== ino) {
      await unlink(path).catch(() => undefined);
      throw swapped(path, `what was moved to ${path} in its place was removed again`);
    }
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw fileError(path, err);
  }
}

/** Puts a snapshot back: same bytes, mode and owner, or removes the file if it did not exist. */
export async function restoreFile(s: FileSnapshot): Promise<void> {
  if (s.content === null) {
    await unlink(s.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw fileError(s.path, err);
    });
    return;
  }
  await writeFileAtomic(s.path, s.content, { uid: s.uid ?? 0, gid: s.gid ?? 0, mode: s.mode ?? 0o644 });
}

const notRegular = (path: string) =>
  new PgduplexError('REFUSED', `${path} is not a regular file`, {
    hint: 'pgduplex only edits regular files; move the symlink or special file aside',
  });

const swapped = (path: string, outcome: string) =>
  new PgduplexError(
    'FILE_TAMPERED',
    `the temp file for ${path} was replaced by something else before it was put in place; ${outcome}`,
    {
      hint: 'another user writes in that directory: find out who (a PostgreSQL superuser can), then retry',
    },
  );

function fileError(path: string, err: unknown): PgduplexError {
  if (err instanceof PgduplexError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  if (code === 'EEXIST' || code === 'ELOOP') {
    return new PgduplexError(
      'FILE_TAMPERED',
      `something already stands where the temp file for ${path} goes (${code}); nothing was written`,
      {
        hint: 'another user writes in that directory: find out who, remove it, then retry',
        cause: err,
      },
    );
  }
  const hint =
    code === 'EROFS'
      ? "the file system is read-only here (is the path in the unit's ReadWritePaths?)"
      : code === 'EACCES' || code === 'EPERM'
        ? 'the agent may not write there; check owner, mode and immutable flags'
        : 'check the path and the disk';
  return new PgduplexError('INTERNAL', `cannot write ${path} (${code})`, { hint, cause: err });
}
