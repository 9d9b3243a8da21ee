import { hazardsAction } from '../../shared/protocol/facts.js';
import { agentsVia } from '../setup/agents.js';
import { palette } from '../render/format.js';
import { jsonText, safeLine } from '../render/safe-text.js';
import { pairFacts } from '../setup/setup.js';
import { verified, verifyPair } from '../setup/verify.js';
import { askYesNo, taskLog } from '../render/tasks.js';
import { parseTableName } from '../verify/table-compare.js';
import { verifyTable } from '../verify/verify-table.js';
import { PgduplexError } from '../../shared/errors.js';

/** `verify --table`'s options; `repair` only with `--repair --keep NODE`. */
export interface VerifyTableOptions {
  table: string;
  sliceRows: number;
  repair?: { keep: string; dryRun: boolean; yes: boolean };
}

/**
 * `pgduplex verify --table T [--repair --keep NODE]`: one table compared slice by slice, the differing keys listed;
 * with --repair, the other node takes NODE's version of them. Exit 0 when equal (after a repair), else 1.
 */
export async function verifyTableCommand(
  o: { socket: string; database: string; json: boolean } & VerifyTableOptions,
): Promise<number> {
  const table = parseTableName(o.table);
  const { lines, report, flush } = taskLog(o.json);
  const interactive = process.stdin.isTTY === true && !o.json;
  const r = await verifyTable(agentsVia(o.socket), {
    database: o.database,
    table,
    limits: { sliceRows: o.sliceRows, maxKeys: 10_000, drainMs: 120_000 },
    report,
    ...(o.repair ? { repair: { ...o.repair, ...(interactive ? { confirm: askYesNo } : {}) } } : {}),
  }).finally(flush);
  if (o.json) process.stdout.write(`${jsonText({ ...r, lines }, 2)}\n`);
  return r.equal ? 0 : 1;
}

/** Refuses option combinations that make no sense, before anything is read. */
export function checkVerifyOptions(o: {
  table?: string;
  repair?: boolean;
  keep?: string;
  dryRun?: boolean;
  yes?: boolean;
}) {
  const usage = (m: string) =>
    new PgduplexError('USAGE', m, { hint: 'pgduplex verify --table T --repair --keep NODE' });
  if (o.repair && !o.table) throw usage('--repair needs --table: it repairs one table at a time');
  if (o.repair && !o.keep) throw usage('--repair needs --keep NODE: the node whose rows are kept');
  if (!o.repair && (o.keep || o.dryRun || o.yes)) throw usage('--keep, --dry-run and --yes go with --repair');
}

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
