import { agentsVia } from '../setup/agents.js';
import type { KeylessRemedy } from '../setup/preflight.js';
import { setup } from '../setup/setup.js';
import { verified } from '../setup/verify.js';
import { progressRenderer } from '../render/progress.js';
import { jsonText, safeLine } from '../render/safe-text.js';
import { askYesNo, taskLog } from '../render/tasks.js';

/** `pgduplex setup`: prints one task line per step; exit 0 only when both databases agree at the end. */
export async function setupCommand(o: {
  socket: string;
  database: string;
  source: 'local' | 'peer';
  dryRun: boolean;
  yes: boolean;
  replacePeerData: boolean;
  adopt: boolean;
  keyless: KeylessRemedy;
  fullVerify: boolean;
  maxSlotWalKeepSize?: string;
  idleSlotTimeout?: string;
  json: boolean;
}): Promise<number> {
  const bar = o.json ? undefined : progressRenderer(process.stdout);
  const { lines, report, flush } = taskLog(o.json, () => bar?.clear());
  const interactive = process.stdin.isTTY === true && !o.json;
  const started = Date.now();
  const agents = agentsVia(o.socket, { onWait: (m) => report('...', '', m) });
  const result = await setup(agents, {
    ...o,
    report,
    ...(interactive ? { confirm: askYesNo } : {}),
    ...(bar ? { progress: bar.update } : {}),
  }).finally(() => {
    bar?.clear();
    flush();
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.verify === undefined || verified(result.verify);
  if (o.json) {
    // A dry run's plan: every step with its node, action, params (no password) and check answer or predicted.
    const doc = {
      dryRun: o.dryRun,
      ...(result.plan ? { plan: result.plan } : {}),
      steps: lines,
      verify: result.verify ?? null,
      backup: result.backup ?? null,
      seconds: Number(seconds),
    };
    process.stdout.write(`${jsonText(doc, 2)}\n`);
  } else if (o.dryRun) process.stdout.write(`dry run: nothing was changed (${seconds} s)\n`);
  else {
    const changed = lines.filter((l) => l.status === 'changed');
    const nodes = [...new Set(changed.map((l) => l.node))];
    const summary = nodes
      .map(
        (n) => `${n}: ${[...new Set(changed.filter((l) => l.node === n).map((l) => l.what.split(':')[0]))].join(', ')}`,
      )
      .join('; ');
    process.stdout.write(
      changed.length === 0
        ? 'nothing to change: the pair was already set up, nothing restarted, no data copied\n'
        : `changed ${changed.length} things: ${safeLine(summary)}\n`,
    );
    process.stdout.write(`${ok ? 'both databases agree' : 'the databases DIFFER (see above)'}; took ${seconds} s\n`);
    if (result.backup) process.stdout.write(`the peer's previous data is backed up: ${safeLine(result.backup)}\n`);
  }
  return ok ? 0 : 1;
}
