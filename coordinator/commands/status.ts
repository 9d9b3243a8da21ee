import { agentsVia } from '../setup/agents.js';
import { palette } from '../render/format.js';
import { renderStatus } from '../render/status.js';
import { jsonText, safeDeep } from '../render/safe-text.js';
import { gatherPair } from '../status/gather.js';
import { assessPair, STATUS_EXIT, type Thresholds } from '../status/verdict.js';
import { watchGetAction } from '../../shared/protocol/watch.js';
import { renderWatch } from '../render/watch.js';
import { safeLine } from '../render/safe-text.js';
import { divergent } from '../watch/state.js';
import { checkConflicts, type ConflictCheck } from '../status/conflicts.js';
import { applyConflicts, conflictLines } from '../status/conflict-verdict.js';

/** What `pgduplex status` was asked for. */
export interface StatusOptions extends Thresholds {
  socket: string;
  database: string;
  json: boolean;
  watch: boolean;
  intervalSeconds: number;
}

/** `pgduplex status`: both directions from either node; exit 0 healthy, 3 degraded, 4 broken. */
export async function statusCommand(o: StatusOptions): Promise<number> {
  const agents = agentsVia(o.socket);
  const c = palette(process.stdout);
  const once = async () => {
    const [assessed, kept] = await Promise.all([
      gatherPair(agents, o.database).then((v) => assessPair(v, o)),
      agents.call('local', watchGetAction, {}).catch(() => null),
    ]);
    const watch = kept?.database === o.database ? kept : null;
    // PostgreSQL 18's conflict counters are a reason to compare the rows they name, not a verdict.
    const conflicts: ConflictCheck | null = assessed.peer.reachable ? await checkConflicts(agents, o.database) : null;
    const checked = conflicts ? applyConflicts(assessed, conflicts) : assessed;
    // Rows the watch found differing after the lag drained do not heal themselves: a healthy pair is degraded.
    const report =
      checked.verdict === 'healthy' && divergent(watch).length > 0
        ? { ...checked, verdict: 'degraded' as const }
        : checked;
    const extra = [...(conflicts ? conflictLines(conflicts) : []), ...renderWatch(watch)];
    const text = o.json
      ? jsonText({ ...report, watch, conflicts, checkedAt: new Date().toISOString() }, o.watch ? undefined : 2)
      : `${renderStatus(safeDeep(report), c)}\n${extra.map(safeLine).join('\n')}`;
    const clear = o.watch && !o.json && process.stdout.isTTY === true ? '\u001b[H\u001b[2J' : '';
    process.stdout.write(
      `${clear}${text}\n${o.watch && !o.json ? `\n(refreshing every ${o.intervalSeconds} s; Ctrl-C stops)\n` : ''}`,
    );
    return STATUS_EXIT[report.verdict];
  };
  let code = await once();
  if (!o.watch) return code;
  let stop = false;
  let wake: () => void = () => {};
  process.once('SIGINT', () => {
    stop = true;
    wake();
  });
  while (!stop) {
    await new Promise<void>((r) => {
      const timer = setTimeout(r, o.intervalSeconds * 1000);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
    if (!stop) code = await once();
  }
  return code;
}
