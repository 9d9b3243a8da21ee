import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { PARTIAL_PREFIX } from './manifest.js';

/**
 * Removes backups that never finished: an agent killed, or a disk that filled, mid-dump leaves a
 * partial directory without a manifest, which no restore can use. Says what it removed.
 */
export async function sweepPartials(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith(PARTIAL_PREFIX)) continue;
    const dir = join(root, e.name);
    const bytes = await sizeOf(dir);
    await rm(dir, { recursive: true, force: true });
    removed.push(
      `removed ${dir}, an incomplete backup an interrupted run left (${(bytes / 1048576).toFixed(1)} MiB, no manifest)`,
    );
  }
  return removed;
}

/** Creates the partial directory a backup is written into (0700); the root too, if missing. */
export async function startPartial(root: string, id: string): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = join(root, `${PARTIAL_PREFIX}${id}`);
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    throw new PgduplexError(
      err.code === 'EEXIST' ? 'BUSY' : 'INTERNAL',
      `cannot create ${dir} (${err.code ?? 'error'})`,
      { hint: err.code === 'EEXIST' ? 'a backup of this database started this very second; retry' : `check ${root}` },
    );
  });
  return dir;
}

/** Gives a complete backup its name: one rename, made durable, so a directory named by an id is always whole. */
export async function finishPartial(root: string, partial: string, id: string): Promise<string> {
  const dir = join(root, id);
  await rename(partial, dir);
  const fh = await open(root, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return dir;
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) total += (await stat(join(dir, e.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
