import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { writePrivateJson } from '../state/private-files.js';

/** Where backups live; root-only, kept on purge and never deleted by an undo. */
export const BACKUP_ROOT = '/var/backups/pgduplex';

/** A backup's manifest: what it holds and how to prove the file is the one that was written. */
export const manifestSchema = z.strictObject({
  version: z.literal(1),
  id: z.string(),
  createdAt: z.string(),
  cluster: z.string(),
  serverVersion: z.string(),
  database: z.string(),
  schema: z.string().optional(),
  /** Definitions only: it restores no rows. */
  schemaOnly: z.boolean().optional(),
  file: z.string(),
  sizeBytes: z.number(),
  sha256: z.string(),
  durationMs: z.number(),
  /** What the database's table statistics said just before the dump: unchanged means nothing was written since. */
  writes: z.string().optional(),
  tables: z.array(z.strictObject({ schema: z.string(), name: z.string(), rowEstimate: z.number() })),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** A backup id is its UTC timestamp (to the millisecond) plus the database: sortable and unique. */
export function backupId(now: Date, database: string): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${database}`;
}

/** A backup is written under this prefix and renamed to its id once complete, so a backup directory is always whole. */
export const PARTIAL_PREFIX = '.partial-';

/** Writes manifest.json (0600) beside the dump, in `dir` (the backup's directory, or its partial one). */
export function writeManifest(dir: string, m: Manifest): Promise<void> {
  return writePrivateJson(join(dir, 'manifest.json'), m);
}

/** Reads and validates a backup's manifest. */
export async function readManifest(root: string, id: string): Promise<Manifest> {
  if (!/^[0-9TZ]+-[a-z_][a-z0-9_]*$/.test(id))
    throw new PgduplexError('BAD_PARAMS', `${JSON.stringify(id.slice(0, 80))} is not a backup id`);
  try {
    return manifestSchema.parse(JSON.parse(await readFile(join(root, id, 'manifest.json'), 'utf8')));
  } catch (err) {
    throw new PgduplexError('NOT_FOUND', `backup ${id} has no readable manifest in ${root}`, {
      hint: 'list the backups there; a manifest that fails to parse means the backup is unusable',
      cause: err,
    });
  }
}
