import type { ReplicationLogError } from '../../shared/replication.js';

const ENTRY = /^(?<prefix>.*?)\b(?<level>LOG|ERROR|FATAL|PANIC|WARNING|DETAIL|CONTEXT|HINT|STATEMENT):\s+(?<text>.*)$/;
const STAMP = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: (\S+))?/;
// The two long patterns are joined from the sources of their halves (the same pattern, no flags).
/** A logical replication worker's "has started" line: ties its pid to its subscription. */
export const STARTED = new RegExp(
  /logical replication (?:(?:parallel )?apply|table synchronization) worker for subscription "([^"]+)"/.source +
    /(?:, table "[^"]+")? has started/.source,
);
const ORIGIN_CONTEXT = new RegExp(
  /processing remote data for replication origin "([^"]+)".*?(?: for replication target relation "([^"]+)")?/.source +
    /(?: column "[^"]+")?(?: in transaction \d+)?(?:, finished at ([0-9A-Fa-f]+\/[0-9A-Fa-f]+))?$/.source,
);
const CONFLICT = /conflict detected on relation "([^"]+)"/;
const KEY = /\b[Kk]ey (\(.*?\)=\(.*?\))(?=[ ,;.]|$)/;

/** One server log entry: its time, its process id and level, and its text with continuation lines joined. */
export interface Entry {
  at: string;
  pid: string | null;
  level: string;
  text: string;
}

/** Splits a server log into entries (continuation lines, which start with a tab, joined to theirs). */
export function entries(text: string): Entry[] {
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    const m = ENTRY.exec(line);
    if (m?.groups && STAMP.test(m.groups.prefix ?? '')) {
      const stamp = STAMP.exec(m.groups.prefix ?? '');
      out.push({
        at: isoOf(stamp?.[1] ?? '', stamp?.[2]),
        pid: /\[(\d+)\]/.exec(m.groups.prefix ?? '')?.[1] ?? null,
        level: m.groups.level ?? '',
        text: m.groups.text ?? '',
      });
    } else if (/^\s/.test(line) && out.length > 0) {
      const last = out[out.length - 1] as Entry;
      last.text += ` ${line.trim()}`;
    }
  }
  return out;
}

function isoOf(stamp: string, zone: string | undefined): string {
  if (zone === undefined || !/^(UTC|GMT|Etc\/UTC|[+-]\d\d(:?\d\d)?)$/.test(zone))
    return zone ? `${stamp} ${zone}` : stamp;
  const offset = /^[+-]/.test(zone)
    ? zone.length === 3
      ? `${zone}:00`
      : zone.replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')
    : 'Z';
  const d = new Date(`${stamp.replace(' ', 'T')}${offset}`);
  return Number.isNaN(d.getTime()) ? `${stamp} ${zone}` : d.toISOString();
}

/**
 * The replication errors in a PostgreSQL server log (Debian's default `%m [%p] ` prefix): each ERROR of
 * a logical replication worker with its DETAIL and CONTEXT, tied to its subscription by the worker's
 * "has started" line or to its replication origin by the CONTEXT; table, key and the failing
 * transaction's finish LSN are taken from the PostgreSQL 16-18 message formats.
 */
export function parseReplicationErrors(text: string): ReplicationLogError[] {
  const workers = new Map<string, { subscription: string; worker: 'apply' | 'sync' }>();
  const errors: Array<ReplicationLogError & { pid: string | null }> = [];
  for (const e of entries(text)) {
    const started = STARTED.exec(e.text);
    if (started && e.pid) {
      workers.set(e.pid, {
        subscription: started[1] ?? '',
        worker: e.text.includes('table synchronization') ? 'sync' : 'apply',
      });
      continue;
    }
    const open = errors.at(-1);
    if ((e.level === 'DETAIL' || e.level === 'CONTEXT') && open && open.pid === e.pid) {
      if (e.level === 'DETAIL') open.detail = open.detail ? `${open.detail} ${e.text}` : e.text;
      const ctx = e.level === 'CONTEXT' ? ORIGIN_CONTEXT.exec(e.text) : null;
      if (ctx) {
        open.origin = ctx[1] ?? null;
        open.table = ctx[2] ?? open.table;
        open.finishLsn = ctx[3] ?? null;
      }
      open.key ??= KEY.exec(e.text)?.[1] ?? null;
      continue;
    }
    if (e.level !== 'ERROR') continue;
    const w = e.pid ? workers.get(e.pid) : undefined;
    const conflict = CONFLICT.exec(e.text);
    errors.push({
      at: e.at,
      pid: e.pid,
      subscription: w?.subscription ?? null,
      origin: null,
      worker: w?.worker ?? null,
      message: e.text,
      detail: null,
      table: conflict?.[1] ?? null,
      key: null,
      finishLsn: null,
    });
  }
  return errors.filter((e) => e.subscription !== null || e.origin !== null).map(({ pid: _, ...rest }) => rest);
}

/** The latest error per replication origin (apply errors) and per subscription and worker kind (the others). */
export function latestReplicationErrors(errors: readonly ReplicationLogError[]): ReplicationLogError[] {
  const latest = new Map<string, ReplicationLogError>();
  for (const e of errors) {
    const key = e.origin ? `origin|${e.origin}` : `sub|${e.subscription ?? ''}|${e.worker ?? ''}`;
    latest.delete(key);
    latest.set(key, e);
  }
  return [...latest.values()];
}
