import { agentsVia } from '../setup/agents.js';
import { jsonText, safeLine } from '../render/safe-text.js';
import { askYesNo, taskLog } from '../render/tasks.js';
import { teardown, type TeardownOutcome } from '../teardown/teardown.js';

/** Exit status per outcome: 3 says this node is done but the peer's side is still in place. */
export const TEARDOWN_EXIT: Readonly<Record<TeardownOutcome, number>> = {
  'nothing to do': 0,
  'dry run': 0,
  done: 0,
  partial: 3,
  incomplete: 1,
};

/** `pgduplex teardown`: task lines per step, then one summary line (or one JSON document). */
export async function teardownCommand(o: {
  socket: string;
  database: string;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
}): Promise<number> {
  const { lines, report, flush } = taskLog(o.json);
  const interactive = process.stdin.isTTY === true && !o.json;
  const r = await teardown(agentsVia(o.socket), {
    database: o.database,
    dryRun: o.dryRun,
    yes: o.yes,
    report,
    ...(interactive ? { confirm: askYesNo } : {}),
  }).finally(flush);
  const [local, peer] = r.plan.nodes;
  if (o.json) {
    const nodes = r.plan.nodes.map((n) => ({
      node: n.node,
      side: n.side,
      reachable: n.reachable,
      ...(n.reachable ? {} : { reason: n.reason }),
    }));
    process.stdout.write(`${jsonText({ outcome: r.outcome, nodes, steps: lines, remaining: r.remaining }, 2)}\n`);
    return TEARDOWN_EXIT[r.outcome];
  }
  const changed = lines.filter((l) => l.status === 'changed');
  const perNode = [...new Set(changed.map((l) => l.node))]
    .map((n) => `${n}: ${changed.filter((l) => l.node === n).length}`)
    .join(', ');
  const localSide =
    changed.length > 0
      ? `${local.node} is torn down (${changed.length} changes reverted)`
      : `nothing left on ${local.node}`;
  const summary: Record<TeardownOutcome, string> = {
    'nothing to do': `nothing to do: no pgduplex replication left on ${local.node} or ${peer.node}`,
    'dry run': 'dry run: nothing was changed',
    done: `teardown complete: ${changed.length} changes reverted (${perNode}); table data left in place`,
    partial:
      `${localSide}; ${peer.node} could not be reached, so its side remains; run pgduplex teardown again once ` +
      `it answers`,
    incomplete: 'teardown incomplete: see what remains below, then run pgduplex teardown again',
  };
  process.stdout.write(`${safeLine(summary[r.outcome])}\n`);
  if (r.outcome !== 'dry run') for (const what of r.remaining) process.stdout.write(`  remains: ${safeLine(what)}\n`);
  return TEARDOWN_EXIT[r.outcome];
}
