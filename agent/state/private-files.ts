import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';

function insecure(path: string, mode: number, want: string): PgduplexError {
  return new PgduplexError('KEY_FILE_INSECURE', `${path} has mode ${(mode & 0o777).toString(8).padStart(4, '0')}; it holds keys and must be ${want}`, {
    hint: `fix it with "chmod ${want.split(' ')[0]} ${path}" (and check who changed it), then restart the agent`,
  });
}

/** Creates the state dir 0700, or refuses to go on when an existing one is readable by others. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = await stat(dir);
  if ((s.mode & 0o077) !== 0) throw insecure(dir, s.mode, '0700 (root only)');
}

/** Reads a 0600 JSON state file; undefined when absent, KEY_FILE_INSECURE when others can read it. */
export async function readPrivateJson(path: string): Promise<unknown> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if ((s.mode & 0o077) !== 0) throw insecure(path, s.mode, '0600 (root only)');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    throw new PgduplexError('CONFIG_INVALID', `${path} is not valid JSON`, { hint: 'restore it from a backup or remove it (pairing will be lost)', cause: err });
  }
}

/** Writes JSON atomically: a 0600 temp file, fsync, rename over the old one, fsync the directory. */
export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
