import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import type { z } from 'zod';
import { factsAction, hazardsAction } from '../../shared/protocol/facts.js';
import { requireOneRelease } from '../versions.js';
import type { Agents, Side } from './agents.js';
import type { Adoption } from './adopt.js';
import { adoptPreflight, reportScriptSettings } from './adopt-preflight.js';
import { refuseForeign } from './foreign.js';
import type { Report } from './runner.js';
import type { PairFacts } from './steps.js';

type Facts = z.output<typeof factsAction.result>;
type Ready = Extract<Facts['postgresql'], { ready: true }>;
/** The source database's hazards as the agent reports them. */
export type Hazards = z.output<typeof hazardsAction.result>;
/** Which tables the publications carry. */
export type TableSelection = { all: true } | { list: Array<{ schema: string; name: string }> };
/** How the operator chose to handle tables without a key. */
export type KeylessRemedy = 'exclude' | 'replica-identity-full' | undefined;

/** What preflight learnt: both nodes' PostgreSQL facts, the source's hazards and the tables to publish. */
export interface Preflight {
  pg: Record<Side, Ready>;
  hazards: Hazards;
  tables: TableSelection;
  keyless: string[];
  /** setup --adopt: the script's replication as found, to be taken over. */
  adoption?: Adoption;
}

const split = (t: string) => ({ schema: t.split('.')[0] ?? 'public', name: t.split('.')[1] ?? t });
const mb = (n: number) => `${Math.round(n / 1048576)} MB`;

export { compatible } from '../versions.js';

/**
 * A node's facts once its agent has finished the state-changing action an interrupted run left going:
 * a restart or a schema import a killed CLI asked for goes on without it, and a plan made meanwhile
 * would rest on a PostgreSQL that is down or on tables about to change.
 */
async function settledFacts(
  agents: Agents,
  n: PairFacts['source'],
  report: Report,
  waitMs = 6 * 3_600_000,
): Promise<Facts> {
  let told = '';
  let last!: Facts;
  const idle = async () => {
    last = await agents.call(n.side, factsAction, {});
    if (last.busyWith === undefined) return last;
    if (last.busyWith !== told)
      report(
        '...',
        n.node,
        `preflight: waiting for the agent to finish ${last.busyWith}, which an earlier run left going`,
      );
    told = last.busyWith;
    return undefined;
  };
  return poll(idle, { timeoutMs: waitMs, intervalMs: 1000, expired: () => last });
}

/** Everything that must hold before the first change; a refusal here leaves both nodes untouched. */
export async function preflight(
  agents: Agents,
  f: PairFacts,
  o: { remedy: KeylessRemedy; report: Report; adopt?: boolean },
  versions: Record<Side, string>,
): Promise<Preflight> {
  const local = f.source.side === 'local' ? f.source : f.target;
  const peer = local === f.source ? f.target : f.source;
  requireOneRelease([
    { node: local.node, version: versions.local },
    { node: peer.node, version: versions.peer },
  ]);
  const [sf, tf] = await Promise.all([
    settledFacts(agents, f.source, o.report),
    settledFacts(agents, f.target, o.report),
  ]);
  // After the facts: the source's PostgreSQL may have been restarting until then.
  const hz = await agents.call(f.source.side, hazardsAction, { database: f.database }).catch(() => undefined);
  const pg = {} as Record<Side, Ready>;
  for (const [n, facts] of [
    [f.source, sf],
    [f.target, tf],
  ] as const) {
    const p = facts.postgresql;
    if (!p.ready)
      throw new PgduplexError('PG_UNREACHABLE', `PostgreSQL on ${n.node} is not ready: ${p.reason}`, {
        hint: `start it on ${n.node} (systemctl start postgresql) and re-run`,
      });
    if (p.serverVersionNum < 160000)
      throw new PgduplexError(
        'BAD_PARAMS',
        `${n.node} runs PostgreSQL ${p.serverVersion}; origin = none needs 16 or newer`,
        { hint: 'upgrade that cluster first' },
      );
    if (!p.databases.includes(f.database))
      throw new PgduplexError('BAD_PARAMS', `database ${f.database} does not exist on ${n.node}`, {
        hint: 'create it on both nodes (same name) first',
      });
    pg[n.side] = p;
    o.report(
      'ok',
      n.node,
      `preflight: PostgreSQL ${p.serverVersion}, database ${f.database}, agent ${versions[n.side]}`,
    );
  }
  // Before any other refusal: on a pair another tool replicates, no remedy pgduplex offers applies (but --adopt's).
  const adoption = o.adopt ? await adoptPreflight(agents, f, o.report) : undefined;
  if (!o.adopt) await refuseForeign(agents, f, o.report);
  if (adoption)
    reportScriptSettings(
      [f.source, f.target].map((n) => ({ node: n.node, settings: pg[n.side].settings })),
      o.report,
    );
  if (!hz)
    throw new PgduplexError('PG_QUERY_FAILED', `could not read the hazards of ${f.database} on ${f.source.node}`);
  return { pg, hazards: hz, ...selectTables(hz, f, o), ...(adoption ? { adoption } : {}) };
}

/** The target needs room for the copy (the source database plus a margin); only asked when data will be copied. */
export function checkRoom(f: PairFacts, pre: Preflight, report: Report): void {
  const need = Math.round(pre.hazards.databaseBytes * 1.2) + 64 * 1048576;
  const disk = pre.pg[f.target.side].disk.data;
  if (disk.freeBytes < need) {
    throw new PgduplexError(
      'BAD_PARAMS',
      `${f.target.node} has ${mb(disk.freeBytes)} free in ${disk.path}; the copy of ${f.database} ` +
        `(${mb(pre.hazards.databaseBytes)} on ${f.source.node}) needs about ${mb(need)}`,
      {
        hint: 'nothing was changed; free disk space on the target first',
      },
    );
  }
  report('ok', f.target.node, `preflight: ${mb(disk.freeBytes)} free for a ${mb(pre.hazards.databaseBytes)} database`);
}

function selectTables(
  hz: Hazards,
  f: PairFacts,
  o: { remedy: KeylessRemedy; report: Report },
): { tables: TableSelection; keyless: string[] } {
  for (const u of hz.unlogged)
    o.report(
      'note',
      f.source.node,
      `hazard: ${u} is unlogged: its rows are not replicated (the table is created empty on the peer)`,
    );
  if (hz.largeObjects > 0)
    o.report(
      'note',
      f.source.node,
      `hazard: ${hz.largeObjects} large objects are not replicated by logical replication`,
    );
  if (hz.sequenceKeys.length > 0)
    o.report(
      'note',
      f.source.node,
      `hazard: ${hz.sequenceKeys.length} sequences feed keys; both nodes get disjoint values (odd/even)`,
    );
  const keyless = hz.noReplicaIdentity.map((t) => t.table);
  if (keyless.length === 0) return { tables: { all: true }, keyless };
  const names = hz.noReplicaIdentity.map((t) => `${t.table} (${t.updates} updates/deletes so far)`).join(', ');
  if (o.remedy === undefined) {
    throw new PgduplexError(
      'BAD_PARAMS',
      `tables without a primary key or replica identity: ${names}; once published, UPDATE and DELETE on them would ` +
        `fail`,
      {
        hint:
          'add a primary key to each (best), or re-run with --replica-identity-full (every UPDATE/DELETE then ' +
          'carries the whole old row and the peer finds it by scanning the table or a usable index: slower on big ' +
          'tables, and identical duplicate rows cannot be told apart), ' +
          'or with --exclude-tables-without-key (they are not replicated and drift apart between the nodes)',
      },
    );
  }
  if (o.remedy === 'replica-identity-full') {
    o.report('note', f.source.node, `hazard: replica identity FULL for ${keyless.join(', ')}`);
    return { tables: { all: true }, keyless };
  }
  o.report('note', f.source.node, `hazard: not replicating ${names}`);
  const skip = new Set([...keyless, ...hz.unlogged]);
  return { tables: { list: hz.tables.filter((t) => !skip.has(t)).map(split) }, keyless };
}

/** The `replica-identity` step's params for the keyless tables. */
export const keylessTables = (keyless: readonly string[]) => keyless.map(split);
