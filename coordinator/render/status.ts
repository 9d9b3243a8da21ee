import type { DirectionStatus, StatusReport, Verdict } from '../status/verdict.js';
import { formatBytes, formatDuration, type Palette } from './format.js';

const word = (v: Verdict, c: Palette) =>
  v === 'healthy' ? c.green('healthy') : v === 'degraded' ? c.yellow('DEGRADED') : c.red('BROKEN');

function ago(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${formatDuration(Math.max(0, (now - t) / 1000))} ago`;
}

/** Apply and sync errors and conflicts as the subscriber's major counts them; what it lacks is n/a. */
export function errorsLine(s: NonNullable<DirectionStatus['subscriber']>): string {
  const major = s.serverVersionNum === undefined ? undefined : Math.floor(s.serverVersionNum / 10000);
  const pg = major === undefined ? 'this PostgreSQL' : `PostgreSQL ${major}`;
  const sync =
    s.syncSeqErrors === null || s.syncSeqErrors === undefined
      ? `${s.syncErrors} sync`
      : `${s.syncErrors} table sync, ${s.syncSeqErrors} sequence sync`;
  const conflicts = s.conflicts
    ? Object.entries(s.conflicts)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')
    : `n/a (${pg} has no conflict counters)`;
  // 19 counts update_deleted only where the subscription keeps dead tuples for it: a 0 there would mislead.
  const blind = s.conflicts && 'update_deleted' in s.conflicts && s.retainDeadTuples === false;
  return `errors: ${s.applyErrors} apply, ${sync}; conflicts: ${conflicts}${
    blind ? ' (update_deleted not counted: retain_dead_tuples is off)' : ''
  }`;
}

function facts(d: DirectionStatus, now: number): string[] {
  const lines: string[] = [];
  const s = d.subscriber;
  if (s) {
    const tables =
      Object.entries(s.tables ?? {})
        .sort()
        .map(([k, n]) => `${n} ${k === 'r' ? 'ready' : `in state ${k}`}`)
        .join(', ') || 'none';
    lines.push(
      `subscription ${d.subscription} ` +
        `on ${d.to}: ${s.enabled ? 'enabled' : 'DISABLED'}, ${s.streaming ? 'streaming' : 'worker not running'}; ` +
        `tables: ${tables}; last message ${ago(s.lastMessageAt, now)}`,
    );
    lines.push(errorsLine(s));
  }
  const p = d.publisher;
  if (p) {
    const lag =
      `${p.lagBytes === null ? '?' : formatBytes(p.lagBytes)}, ` +
      `${p.lagSeconds === null ? '?' : formatDuration(p.lagSeconds)}`;
    const room =
      p.maxSlotWalKeepSizeBytes === null
        ? 'no max_slot_wal_keep_size'
        : `${formatBytes(p.safeWalSizeBytes ?? 0)} left of ` +
          `max_slot_wal_keep_size ${formatBytes(p.maxSlotWalKeepSizeBytes)}`;
    lines.push(
      `lag ${lag}; slot on ${d.from} ${p.slotActive ? 'active' : 'INACTIVE'}, ` +
        `holds ${formatBytes(p.retainedBytes ?? 0)} of WAL (wal_status ${p.walStatus ?? '?'}, ${room})`,
    );
  }
  return lines;
}

/** Renders the status for a person: the verdict first, then each direction with its facts, problems and remedies. */
export function renderStatus(r: StatusReport, c: Palette, now = Date.now()): string {
  const out = [`${c.bold('pgduplex status')} on ${r.node} (database ${r.database}): ${word(r.verdict, c)}`];
  if (r.versionNote) out.push(`${c.yellow('note')}: ${r.versionNote}`);
  if (!r.peer.reachable)
    out.push(`peer ${r.peer.node}: ${c.yellow(r.peer.problem ?? 'unreachable')}; only ${r.node}'s side is known`);
  for (const d of r.directions) {
    const shown = d.diverging ? `${word(d.verdict, c)}, ${c.yellow('DIVERGING')}` : word(d.verdict, c);
    out.push('', `${c.bold(`${d.from} → ${d.to}`)}  ${shown}`);
    for (const l of facts(d, now)) out.push(`  ${l}`);
    for (const p of d.problems) out.push(`  ${p.verdict === 'broken' ? c.red('!') : c.yellow('!')} ${p.text}`);
    d.remedies.forEach((m, i) => {
      out.push(
        `  ${i === 0 ? 'to fix it' : 'or'}, on ${m.node}: ${m.effect}`,
        `    ${c.bold(`${m.node}# ${m.command}`)}`,
      );
    });
  }
  if (r.verdict === 'healthy') out.push('', 'Both directions replicate.');
  return out.join('\n');
}
