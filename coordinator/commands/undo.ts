import { agentsVia } from '../setup/agents.js';
import { jsonText } from '../render/safe-text.js';
import { askYesNo, taskLog } from '../render/tasks.js';
import { pendingJournals, reportPending, undoEntry } from '../undo/undo.js';

/**
 * `pgduplex undo`: without an id (or with --list), what both journals hold that can be undone; with one, takes that
 * change back on the node that made it. Exit 0 when done, listed or dry run.
 */
export async function undoCommand(o: {
  socket: string;
  id?: string;
  node?: string;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
}): Promise<number> {
  const { lines, report, flush } = taskLog(o.json);
  const agents = agentsVia(o.socket);
  if (o.id === undefined) {
    const journals = await pendingJournals(agents);
    reportPending(journals, report);
    flush();
    if (o.json) process.stdout.write(`${jsonText({ journals }, 2)}\n`);
    return 0;
  }
  const interactive = process.stdin.isTTY === true && !o.json;
  const r = await undoEntry(agents, {
    id: o.id,
    ...(o.node === undefined ? {} : { node: o.node }),
    dryRun: o.dryRun,
    yes: o.yes,
    report,
    ...(interactive ? { confirm: askYesNo } : {}),
  }).finally(flush);
  if (o.json) process.stdout.write(`${jsonText({ ...r, steps: lines }, 2)}\n`);
  return 0;
}
