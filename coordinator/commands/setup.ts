import { agentsVia } from '../setup/agents.js';
import { setup } from '../setup/setup.js';
import { askYesNo, taskLog } from '../render/tasks.js';

/** `pgduplex setup`: prints one task line per step; exit 0 only when both databases agree at the end. */
export async function setupCommand(o: { socket: string; database: string; source: 'local' | 'peer'; dryRun: boolean; yes: boolean; replacePeerData: boolean; excludeTablesWithoutKey: boolean; json: boolean }): Promise<number> {
  const { lines, report } = taskLog(o.json);
  const interactive = process.stdin.isTTY === true && !o.json;
  const started = Date.now();
  const result = await setup(agentsVia(o.socket), { ...o, report, ...(interactive ? { confirm: askYesNo } : {}) });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (o.json) process.stdout.write(`${JSON.stringify({ steps: lines, verify: result ?? null, seconds: Number(seconds) }, null, 2)}\n`);
  else if (o.dryRun) process.stdout.write(`dry run: nothing was changed (${seconds} s)\n`);
  else {
    const changed = lines.filter((l) => l.status === 'changed');
    const perNode = [...new Set(changed.map((l) => l.node))].map((n) => `${n}: ${changed.filter((l) => l.node === n).length}`).join(', ');
    const backup = lines.find((l) => l.status === 'changed' && l.what.startsWith('backup: '));
    process.stdout.write(`${changed.length === 0 ? 'nothing to change: the pair was already set up' : `${changed.length} changes (${perNode})`}; ${result && result.differences.length === 0 ? 'both databases agree' : 'the databases DIFFER'} (${seconds} s)\n`);
    if (backup) process.stdout.write(`the peer's previous data is backed up: ${backup.what.slice('backup: '.length)}\n`);
  }
  return result === undefined || result.differences.length === 0 ? 0 : 1;
}
