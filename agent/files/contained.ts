import { realpath } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';

const within = (p: string, root: string): boolean =>
  p === root || p.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);

/** A path with every symlink resolved; for a file not there yet, its directory's real path and its own name. */
async function realOrPlanned(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return join(await realpath(dirname(path)), basename(path));
  }
}

/**
 * The real path of `path` when it lies inside one of `roots`, else PATH_NOT_ALLOWED. A PostgreSQL
 * superuser can point include_dir, hba_file or the cluster's `log` link anywhere, and the agent runs
 * as root: it reads and writes only inside the cluster's own configuration, data and log directories.
 */
export async function containedPath(path: string, roots: readonly string[], what: string): Promise<string> {
  const real = await realOrPlanned(path).catch((err: unknown) => {
    throw new PgduplexError(
      'PATH_NOT_ALLOWED',
      `${what} ${path} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: 'check that its directory exists',
        cause: err,
      },
    );
  });
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  if (realRoots.some((r) => within(real, r))) return real;
  throw new PgduplexError(
    'PATH_NOT_ALLOWED',
    `${what} ${path} is ${real}, outside ${roots.join(', ')}; pgduplex does not touch it`,
    {
      hint:
        "keep PostgreSQL's configuration (include_dir, hba_file, the cluster's log) " +
        "inside the cluster's own directories",
    },
  );
}
