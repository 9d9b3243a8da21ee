import { randomBytes } from 'node:crypto';
import { chown, chmod, lstat, open, readFile, rename, unlink } from 'node:fs/promises';
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

/** Reads a file's content, mode and owner; a missing file is a snapshot with null content. */
export async function snapshotFile(path: string): Promise<FileSnapshot> {
  try {
    const st = await lstat(path);
    if (!st.isFile()) throw new PgduplexError('BAD_PARAMS', `${path} is not a regular file`, { hint: 'pgduplex only edits regular files; move the symlink or special file aside' });
    return { path, content: await readFile(path, 'utf8'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, content: null };
    throw fileError(path, err);
  }
}

/**
 * Replaces a file atomically: a temp file beside it with the right owner and mode, fsync, rename,
 * fsync of the directory. Readers see the old or the new file, never half of one.
 */
export async function writeFileAtomic(path: string, content: string, owner: { uid: number; gid: number; mode: number }): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.pgduplex-tmp`);
  try {
    const fh = await open(tmp, 'wx', owner.mode);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chown(tmp, owner.uid, owner.gid);
    await chmod(tmp, owner.mode);
    await rename(tmp, path);
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
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

function fileError(path: string, err: unknown): PgduplexError {
  if (err instanceof PgduplexError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  const hint =
    code === 'EROFS' ? 'the file system is read-only here (is the path in the unit\'s ReadWritePaths?)' : code === 'EACCES' || code === 'EPERM' ? 'the agent may not write there; check owner, mode and immutable flags' : 'check the path and the disk';
  return new PgduplexError('INTERNAL', `cannot write ${path} (${code})`, { hint, cause: err });
}
