import { agentsVia } from '../setup/agents.js';
import { jsonText } from '../render/safe-text.js';
import { taskLog } from '../render/tasks.js';
import { divergent } from '../watch/state.js';
import { watchRound, type RoundLimits } from '../watch/round.js';

/**
 * `pgduplex watch`: one round of the divergence watch (pgduplex-watch.timer runs it); exit 0 when no table is known
 * to differ, 1 when one does (or the round failed).
 */
export async function watchCommand(o: {
  socket: string;
  database: string;
  json: boolean;
  limits: RoundLimits;
}): Promise<number> {
  const { lines, report, flush } = taskLog(o.json);
  const r = await watchRound(agentsVia(o.socket), { database: o.database, limits: o.limits, report }).finally(flush);
  const bad = divergent(r.state);
  if (r.ran) {
    const s = r.state;
    const pass = s.cursor.table === null ? 'pass complete' : `pass at ${s.cursor.table}`;
    report(
      'ok',
      r.recordedOn.join('+') || '-',
      `watch: ${r.slices} slices, ${r.tablesFinished} tables finished; ${s.tablesDone}/${s.tablesTotal} tables ` +
        `this pass (${pass})`,
    );
  }
  for (const [table, t] of bad)
    report(
      'DIFFERS',
      r.recordedOn.join('/') || '-',
      `watch: ${table}: ${t.differing} rows differ (checked ${t.checkedAt}); e.g. ` +
        `${t.sample.map((k) => `${k.key} (${k.how})`).join(', ')}; pgduplex verify --table ${table}`,
    );
  flush();
  if (o.json) process.stdout.write(`${jsonText({ ...r, lines }, 2)}\n`);
  return bad.length > 0 ? 1 : 0;
}
