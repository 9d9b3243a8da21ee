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
 * Why: a peer may have this node dump a database at most once per `limits.peerBackupIntervalMs`, so it cannot fill
 * the disk. Counted are complete backups the peer asked for within the interval that are still in the backup
 * directory (one this node's operator removed no longer counts). A repeat of that same request with nothing written
 * since (a setup re-run) gets that backup again; anything else is refused, naming the limit and when the next is due.
 */
export async function peerBackupDecision(
  s: AgentServices,
  p: { database: string; schema?: string | undefined },
  now = Date.now(),
): Promise<PeerBackupDecision> {
  const interval = s.limits.peerBackupIntervalMs;
  if (interval === 0) return { kind: 'new' };
  const recent = (await s.journal.list()).filter(
    (e) => e.action === 'backup' && e.origin === 'peer' && !e.interrupted && now - Date.parse(e.at) < interval,
  );
  for (const e of recent.reverse()) {
    const id = (e.undo as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') continue;
    const m = await readManifest(s.backupRoot, id).catch(() => undefined);
    if (!m) continue;
    const ageMs = now - Date.parse(e.at);
    const next = new Date(Date.parse(e.at) + interval).toISOString();
    const same = m.database === p.database && m.schema === p.schema;
    const marks = [m.writes, same ? await restoredMark(s.backupRoot, id) : undefined].filter((x) => x !== undefined);
    const written =
      same && marks.length > 0
        ? !marks.includes(await writesMark(await resolveCluster(s.postgresql), p, s.limits.toolTimeoutMs))
        : true;
    if (same && !written) return { kind: 'reuse', id, ageMs };
    const what = same
      ? `${p.database} was written to since`
      : `it was of ${m.database}${m.schema ? `.${m.schema}` : ''}`;
    return {
      kind: 'refuse',
      why:
        `allows the peer one backup per ${minutes(interval)}: backup ${id} was taken ${Math.round(ageMs / 1000)} s ` +
        `ago and ${what}; the next is allowed at ${next}`,
    };
  }
  return { kind: 'new' };
}
