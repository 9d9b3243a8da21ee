import { hazardsAction } from '../../shared/protocol/facts.js';
import { agentsVia } from '../setup/agents.js';
import { palette } from '../render/format.js';
import { jsonText, safeLine } from '../render/safe-text.js';
import { pairFacts } from '../setup/setup.js';
import { verified, verifyPair } from '../setup/verify.js';

/**
 * `pgduplex verify`: rows, checksums, schema and sequences of every replicated table on both nodes; exit 1 on a
 * difference.
 */
export async function verifyCommand(o: { socket: string; database: string; json: boolean }): Promise<number> {
  const agents = agentsVia(o.socket);
  const f = await pairFacts(agents, o.database, 'local');
  // Tables setup leaves out (no usable replica identity) are not replicated, so they are not compared.
  const hz = await agents.call('local', hazardsAction, { database: o.database });
  const c = palette(process.stdout);
  const lines: Array<{ status: string; node: string; what: string }> = [];
  const report = (status: string, node: string, what: string) => {
    lines.push({ status, node, what });
    if (!o.json)
      process.stdout.write(
        `${(status === 'DIFFERS' ? c.red : status === 'ok' ? c.green : (s: string) => s)(status.padEnd(8))} ` +
          `${safeLine(node).padEnd(6)} ${safeLine(what)}\n`,
      );
  };
  const result = await verifyPair(
    agents,
    f,
    report,
    hz.noReplicaIdentity.map((t) => t.table),
  );
  if (o.json) process.stdout.write(`${jsonText({ ...result, lines }, 2)}\n`);
  return verified(result) ? 0 : 1;
}
