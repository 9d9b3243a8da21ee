import { lstat, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { containedPath } from '../files/contained.js';
import { READ_NOFOLLOW } from '../files/owned-file.js';
import type { Cluster } from './cluster.js';

/**
 * Where pg_ctlcluster sends the server's output: the cluster's `log` symlink if any, else Debian's
 * default file. The link is followed only into the log or data directory: its lines reach the CLI and
 * the peer, and the postgres user, who can place the link, must not have root read another file.
 */
export async function clusterLogPath(cluster: Cluster, logRoot = '/var/log/postgresql'): Promise<string> {
  const link = join(cluster.configDir, 'log');
  const fallback = join(logRoot, `postgresql-${cluster.version}-${cluster.name}.log`);
  const hasLink = await lstat(link).then(
    () => true,
    () => false,
  );
  if (!hasLink) return fallback;
  return containedPath(link, [logRoot, cluster.dataDir], "the cluster's log").catch(() => fallback);
}

/** The log's current size, so a later read shows only what a start wrote (0 when it does not exist). */
export async function logSize(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** What was appended since `offset` (at most the last `maxBytes`); a rotated, shorter file is read from its start. */
export async function readLogSince(path: string, offset: number, maxBytes = 256 * 1024): Promise<string> {
  let fh;
  try {
    // /var/log/postgresql belongs to postgres: a symlink put in place of the log is not followed.
    fh = await open(path, READ_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    const size = (await fh.stat()).size;
    const from = Math.max(size < offset ? 0 : offset, size - maxBytes);
    const buf = Buffer.alloc(size - from);
    await fh.read(buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

const LEVEL = /\b(PANIC|FATAL|ERROR|WARNING|LOG|DETAIL|HINT):\s/;
const SEVERE = /\b(PANIC|FATAL|ERROR|WARNING|DETAIL|HINT):\s/;

/**
 * The lines that explain a failed start: from the last "starting PostgreSQL" on, the errors and
 * their details first, then LOG lines to fill up to `max`, in the order they were written.
 */
export function startFailureLines(text: string, max = 10, width = 240): string[] {
  const all = text.split('\n');
  const startAt = all.findLastIndex((l) => /\bstarting PostgreSQL\b/.test(l));
  const lines = all.slice(Math.max(startAt, 0)).filter((l) => LEVEL.test(l));
  const severe = lines.flatMap((l, i) => (SEVERE.test(l) ? [i] : [])).slice(-max);
  const others = lines.flatMap((l, i) => (SEVERE.test(l) ? [] : [i]));
  const keep = new Set([...severe, ...others.slice(Math.max(0, others.length - (max - severe.length)))]);
  return lines.filter((_, i) => keep.has(i)).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l.trimEnd()));
}
