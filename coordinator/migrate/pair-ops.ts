import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import type { ParamsOf } from '../../shared/protocol/actions.js';
import { changeNamed } from '../../shared/protocol/catalogue.js';
import { journalListAction } from '../../shared/protocol/journal.js';
import { schemaHeldAction, schemaModelAction, type SchemaModel } from '../../shared/protocol/migrate.js';
import {
  replicationStatusAction,
  subscriptionChange,
  subscriptionStatusAction,
} from '../../shared/protocol/replication-actions.js';
import type { ReplicationSnapshot } from '../../shared/replication.js';
import type { Agents } from '../setup/agents.js';
import { runChange, type Report } from '../setup/runner.js';
import { subscriptionStep, subscriptionName, type PairFacts } from '../setup/steps.js';

type Node = PairFacts['source'];

/** One node as migrate reads it: its schema's model, its replication facts, the tables it still holds. */
export interface NodeState {
  model: SchemaModel;
  snapshot: ReplicationSnapshot;
  held: string[];
}

/** Reads a node's model, replication facts and held tables together. */
export async function readNode(agents: Agents, f: PairFacts, n: Node): Promise<NodeState> {
  const db = { database: f.database, schema: 'public' };
  const [model, snapshot, held] = await Promise.all([
    agents.call(n.side, schemaModelAction, db, { timeoutMs: 120_000 }),
    agents.call(n.side, replicationStatusAction, { database: f.database }),
    agents.call(n.side, schemaHeldAction, db),
  ]);
  return { model, snapshot, held };
}

/** The subscription on `on` that reads from `from`, as its node reports it. */
export function subscriptionOf(state: NodeState, from: Node) {
  return state.snapshot.subscriptions.find((s) => s.name === subscriptionName(from.node));
}

/** The subscription's params as setup made them, binary as it is now (read from the check's words). */
async function subscriptionParams(agents: Agents, f: PairFacts, on: Node, from: Node, enabled: boolean) {
  const base = subscriptionStep(f, on, from, false).params as ParamsOf<typeof subscriptionChange.check>;
  const withBinary = (binary: boolean) => ({ ...base, options: { ...base.options!, binary, enabled } });
  const check = await agents.call(on.side, subscriptionChange.check, withBinary(false));
  const binary = check.changes.some((c) => /: binary true -> false$/.test(c));
  return withBinary(binary);
}

/** Disables (holds) or enables (releases) the subscription on `on` reading from `from`: a journaled change. */
export async function setSubscriptionEnabled(
  agents: Agents,
  f: PairFacts,
  on: Node,
  from: Node,
  enabled: boolean,
  report: Report,
): Promise<void> {
  const params = await subscriptionParams(agents, f, on, from, enabled);
  await runChange(
    agents,
    { side: on.side, node: on.node, action: 'subscription', params },
    { dryRun: false, report, command: 'migrate' },
  );
}

/** Runs a catalogue change as check then apply, with its task lines. */
export async function change(agents: Agents, n: Node, action: string, params: unknown, report: Report) {
  if (!changeNamed(action)) throw new PgduplexError('INTERNAL', `no change named ${action}`);
  return runChange(
    agents,
    { side: n.side, node: n.node, action, params },
    { dryRun: false, report, timeoutMs: 900_000, command: 'migrate' },
  );
}

/** Waits until every table of the subscription on `on` is ready (r): its first copy is done. */
export async function waitTablesReady(agents: Agents, f: PairFacts, on: Node, from: Node, limitMs = 600_000) {
  const name = subscriptionName(from.node);
  let left = '';
  await poll(
    async () => {
      const subs = await agents.call(on.side, subscriptionStatusAction, { database: f.database });
      const s = subs.find((x) => x.name === name);
      const notReady = Object.entries(s?.tables ?? {}).filter(([state, n]) => state !== 'r' && n > 0);
      left = notReady.map(([state, n]) => `${n} in state ${state}`).join(', ');
      return s && notReady.length === 0 ? true : undefined;
    },
    {
      timeoutMs: limitMs,
      intervalMs: 500,
      expired: () => {
        throw new PgduplexError('TIMEOUT', `the tables of ${name} on ${on.node} are not all copied yet: ${left}`, {
          hint: 'pgduplex status shows the copy; re-run pgduplex migrate to finish',
        });
      },
    },
  );
}

/**
 * The schema-carry entries on `n` made since its subscription was last held (disabled): what a run cut short carried
 * there and may still owe (touches).
 */
export async function carriesSinceHold(agents: Agents, n: Node): Promise<string[]> {
  const entries = await agents.call(n.side, journalListAction, { pending: true });
  const lastHold = entries.map(
    (e) => e.action === 'subscription' && e.changes.some((c) => /enabled true -> false$/.test(c)),
  );
  const from = lastHold.lastIndexOf(true);
  return entries
    .slice(from + 1)
    .filter((e) => e.action === 'schema-carry')
    .flatMap((e) => e.changes);
}
