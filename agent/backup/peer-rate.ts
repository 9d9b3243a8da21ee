import type { AgentServices } from '../actions/context.js';
import type { Cluster } from '../postgres/cluster.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { join } from 'node:path';
import { readPrivateJson, writePrivateJson } from '../state/private-files.js';
import { readManifest, type Manifest } from './manifest.js';

/** What a peer's backup request gets: a new backup, the one it asked for moments ago, or a refusal saying when. */
export type PeerBackupDecision =
  { kind: 'new' } | { kind: 'reuse'; id: string; ageMs: number } | { kind: 'refuse'; why: string };

// Per table: its file (a TRUNCATE or rewrite makes a new one) and its write counters. Statistics are flushed by
// each backend within seconds; a reset or a crash empties them, which reads as "written since" (never reused).
const WRITES_SQL = (schema: string | undefined) => `select json_build_object('writes', coalesce(md5(string_agg(
    s.relid || ':' || c.relfilenode || ':' || s.n_tup_ins || ':' || s.n_tup_upd || ':' || s.n_tup_del, ','
    order by s.relid)), 'none'))
  from pg_stat_user_tables s join pg_class c on c.oid = s.relid
  ${schema === undefined ? '' : `where s.schemaname = :'schema'`}`;

/** Why: a backup may stand for a later request only if nothing was written to what it holds in between. */
export async function writesMark(
  cluster: Cluster,
  target: { database: string; schema?: string | undefined },
  timeoutMs: number,
): Promise<string> {
  const { schema } = target;
  const r = await queryJson<{ writes: string }>(cluster, WRITES_SQL(schema), {
    timeoutMs,
    database: target.database,
    ...(schema === undefined ? {} : { vars: { schema } }),
  });
  return r.writes;
}

const RESTORED = 'restored.json';

/**
 * Why: a schema restored from a backup (an import rolled back) holds that backup's content again, so the backup
 * still stands for it; the statistics right after the restore are kept beside the manifest to tell. Only when the
 * backup holds nothing but that schema's tables: writes elsewhere in between would be missing from it.
 */
export async function markRestored(cluster: Cluster, root: string, m: Manifest, schema: string, timeoutMs: number) {
  const outside = `select json_build_object('n', count(*)) from pg_stat_user_tables where schemaname <> :'schema'`;
  const only =
    m.schema === schema ||
    (await queryJson<{ n: number }>(cluster, outside, { timeoutMs, database: m.database, vars: { schema } })).n === 0;
  if (!only) return;
  const writes = await writesMark(cluster, { database: m.database, schema: m.schema }, timeoutMs);
  await writePrivateJson(join(root, m.id, RESTORED), { writes });
}

async function restoredMark(root: string, id: string): Promise<string | undefined> {
  const r = (await readPrivateJson(join(root, id, RESTORED)).catch(() => undefined)) as
    { writes?: unknown } | undefined;
  return typeof r?.writes === 'string' ? r.writes : undefined;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * Why: a peer may have this node dump databases at most `limits.peerBackupsPerInterval` times per
 * `limits.peerBackupIntervalMs`, so it cannot fill the disk, yet a setup cut short in its copy can back the peer up
 * again. Counted are complete backups the peer asked for within the interval that are still in the backup directory
 * (one this node's operator removed no longer counts). A repeat of the newest request with nothing written since (a
 * setup re-run) gets that backup again; past the count, a request is refused, naming the limit and when the next is
 * due.
 */
export async function peerBackupDecision(
  s: AgentServices,
  p: { database: string; schema?: string | undefined; schemaOnly?: boolean | undefined },
  now = Date.now(),
): Promise<PeerBackupDecision> {
  const interval = s.limits.peerBackupIntervalMs;
  if (interval === 0 || p.schemaOnly === true) return { kind: 'new' };
  const recent = (await s.journal.list()).filter(
    (e) => e.action === 'backup' && e.origin === 'peer' && !e.interrupted && now - Date.parse(e.at) < interval,
  );
  const kept: Array<{ id: string; at: string }> = [];
  for (const e of recent.reverse()) {
    const id = (e.undo as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') continue;
    const m = await readManifest(s.backupRoot, id).catch(() => undefined);
    if (!m || m.schemaOnly === true) continue;
    if (kept.length === 0 && m.database === p.database && m.schema === p.schema) {
      const marks = [m.writes, await restoredMark(s.backupRoot, id)].filter((x) => x !== undefined);
      const now_ =
        marks.length > 0 ? await writesMark(await resolveCluster(s.postgresql), p, s.limits.toolTimeoutMs) : '';
      if (marks.length > 0 && marks.includes(now_)) return { kind: 'reuse', id, ageMs: now - Date.parse(e.at) };
    }
    kept.push({ id, at: e.at });
  }
  const max = s.limits.peerBackupsPerInterval ?? 3;
  if (kept.length < max) return { kind: 'new' };
  const oldest = kept[kept.length - 1]!;
  const next = new Date(Date.parse(oldest.at) + interval).toISOString();
  return {
    kind: 'refuse',
    why:
      `allows the peer ${max} backup${max === 1 ? '' : 's'} per ${minutes(interval)}, and ${kept.length} it asked ` +
      `for are in ${s.backupRoot} (the newest ${kept[0]!.id}); the next is allowed at ${next}, or once one of them ` +
      'is removed',
  };
}
