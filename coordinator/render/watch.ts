import type { WatchState } from '../../shared/protocol/watch.js';
import { divergent, unsettledText } from '../watch/state.js';

const ago = (iso: string, now: number) => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/** The divergence watch's results as status prints them: its progress, then each table that differs. */
export function renderWatch(w: WatchState | null, now = Date.now()): string[] {
  if (!w || !w.lastRoundAt)
    return ['watch: no round yet (pgduplex-watch.timer runs one every 15 minutes; pgduplex watch runs one now)'];
  const pass = w.lastPassAt ? `last full pass ${ago(w.lastPassAt, now)}` : 'no full pass yet';
  const lines = [
    `watch: last round ${ago(w.lastRoundAt, now)}; ${w.tablesDone}/${w.tablesTotal} tables this pass, ${pass}`,
  ];
  if (w.unsettled)
    lines.push(
      `  LAGGING ${w.unsettled.table} (since ${ago(w.unsettled.since, now)}): ${unsettledText(w.unsettled.reason)}`,
    );
  const bad = divergent(w);
  if (bad.length === 0 && Object.keys(w.tables).length > 0)
    lines.push(`  no table differs (${Object.keys(w.tables).length} tables compared)`);
  for (const [table, t] of bad)
    lines.push(
      `  DIVERGING ${table}: ${t.differing} rows differ (found ${ago(t.checkedAt, now)}` +
        `${t.lastEqualAt ? `, last equal ${ago(t.lastEqualAt, now)}` : ', never seen equal'}); e.g. ` +
        `${t.sample.map((k) => `${k.key} (${k.how})`).join(', ')}; look: pgduplex verify --table ${table}`,
    );
  return lines;
}
