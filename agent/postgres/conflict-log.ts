import type { ConflictLine } from '../../shared/protocol/conflicts.js';
import { entries, STARTED } from './apply-log.js';

// PostgreSQL 18's ReportApplyConflict (src/backend/replication/logical/conflict.c): errmsg
// `conflict detected on relation "%s.%s": conflict=%s` (LOG, or ERROR for the unique-violation kinds), a DETAIL
// from errdetail_apply_conflict naming the row (`replica identity (cols)=(values)`, or `Key (cols)=(values)` for
// a unique index) and the apply worker's CONTEXT naming its replication origin.
const CONFLICT = /^conflict detected on relation "([^"]+)": conflict=([a-z_]+)/;
const KEY = /(?:\b[Rr]eplica identity|\b[Kk]ey) (\(.*?\)=\(.*?\))(?=[.;,]?(?:\s|$))/;
const ORIGIN = /processing remote data for replication origin "([^"]+)"/;

/**
 * The conflict lines of a PostgreSQL 18+ server log (Debian's `%m [%p] ` prefix), each with its table, conflict type
 * and key, tied to its subscription by the worker's "has started" line or to its replication origin by the CONTEXT.
 */
export function parseConflictLines(text: string): ConflictLine[] {
  const workers = new Map<string, string>();
  const out: Array<ConflictLine & { pid: string | null }> = [];
  for (const e of entries(text)) {
    const started = STARTED.exec(e.text);
    if (started && e.pid) {
      workers.set(e.pid, started[1] ?? '');
      continue;
    }
    const open = out.at(-1);
    if ((e.level === 'DETAIL' || e.level === 'CONTEXT') && open && open.pid === e.pid) {
      if (e.level === 'DETAIL') open.key ??= KEY.exec(e.text)?.[1] ?? null;
      else open.origin ??= ORIGIN.exec(e.text)?.[1] ?? null;
      continue;
    }
    const m = CONFLICT.exec(e.text);
    if (!m || (e.level !== 'LOG' && e.level !== 'ERROR')) continue;
    out.push({
      at: e.at,
      pid: e.pid,
      subscription: (e.pid ? workers.get(e.pid) : undefined) ?? null,
      origin: null,
      table: m[1] ?? '',
      type: m[2] ?? '',
      key: null,
    });
  }
  return out.map(({ pid: _, ...rest }) => rest);
}

/** The lines of one subscription (by name or its origin) logged at or after `since` (ISO times compare as text). */
export function linesOf(lines: readonly ConflictLine[], sub: { name: string; origin: string | null }, since: string) {
  return lines.filter(
    (l) =>
      (l.subscription === sub.name || (l.origin !== null && l.origin === sub.origin)) &&
      (Number.isNaN(Date.parse(l.at)) || Date.parse(l.at) >= Date.parse(since)),
  );
}
