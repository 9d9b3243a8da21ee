import { lstat, mkdir, open } from 'node:fs/promises';
import { PgduplexError } from '../../shared/errors.js';
import { READ_NOFOLLOW, writeFileAtomic } from '../files/owned-file.js';

function insecure(path: string, mode: number, want: string): PgduplexError {
  return new PgduplexError(
    'KEY_FILE_INSECURE',
    `${path} has mode ${(mode & 0o777).toString(8).padStart(4, '0')}; it holds keys and must be ${want}`,
    {
      hint: `fix it with "chmod ${want.split(' ')[0]} ${path}" (and check who changed it), then restart the agent`,
    },
  );
}

const me = (): number => process.getuid?.() ?? 0;

function foreign(path: string, uid: number): PgduplexError {
  return new PgduplexError(
    'KEY_FILE_INSECURE',
    `${path} is owned by uid ${uid}, not by the agent's user (uid ${me()}); it holds keys`,
    {
      hint: `give it back with "chown root:root ${path}" (and check who changed it), then restart the agent`,
    },
  );
}

/**
 * Creates the state dir 0700, or refuses to go on when an existing one is a symlink, someone else's or readable by
 * others.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = await lstat(dir);
  if (!s.isDirectory())
    throw new PgduplexError('KEY_FILE_INSECURE', `${dir} is not a directory (a symlink?); it holds keys`, {
      hint: 'make it a real directory owned by root, mode 0700',
    });
  if (s.uid !== me()) throw foreign(dir, s.uid);
  if ((s.mode & 0o077) !== 0) throw insecure(dir, s.mode, '0700 (root only)');
}

/**
 * Reads a 0600 JSON state file through a handle opened without following a symlink; undefined when
 * absent, KEY_FILE_INSECURE when it is a symlink, someone else's, or readable by others.
 */
export async function readPrivateJson(path: string): Promise<unknown> {
  let fh;
  try {
    fh = await open(path, READ_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw new PgduplexError('KEY_FILE_INSECURE', `${path} is a symlink; it holds keys`, {
        hint: 'replace it with the file itself (root, 0600)',
      });
    throw err;
  }
  let text: string;
  try {
    const s = await fh.stat();
    if (!s.isFile())
      throw new PgduplexError('KEY_FILE_INSECURE', `${path} is not a regular file; it holds keys`, {
        hint: 'replace it with the file itself (root, 0600)',
      });
    if (s.uid !== me()) throw foreign(path, s.uid);
    if ((s.mode & 0o077) !== 0) throw insecure(path, s.mode, '0600 (root only)');
    text = await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PgduplexError('CONFIG_INVALID', `${path} is not valid JSON`, {
      hint: 'restore it from a backup or remove it (pairing will be lost)',
      cause: err,
    });
  }
}

/** Writes JSON atomically as a root-only 0600 file (the same safe write as every file the agent owns). */
export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, {
    uid: me(),
    gid: process.getgid?.() ?? 0,
    mode: 0o600,
  });
}
