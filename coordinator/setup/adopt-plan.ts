import type { Adoption } from './adopt.js';
import type { Confirmation } from './bootstrap.js';
import type { PlanPhase, PlanStep } from './plan.js';
import { PUBLICATION, REPL_ROLE, subscriptionName, type PairFacts } from './steps.js';

type NodeRef = PairFacts['source'];

/** What the handover's phases hang on: the steps before them and the verify's params. */
export interface AdoptContext {
  readonly f: PairFacts;
  readonly adoption: Adoption;
  readonly binary: boolean;
  /** Ids of the steps every subscription waits for: access, credentials, the publications. */
  readonly before: readonly string[];
  readonly verify: Readonly<Record<string, unknown>>;
}

const change = (id: string, n: NodeRef, action: string, params: Record<string, unknown>, after: readonly string[]) =>
  ({ id, kind: 'change', side: n.side, node: n.node, action, params, after }) as PlanStep;

/**
 * The handover, one direction at a time: on the publisher pgduplex's slot copied from the script's, on the subscriber
 * the script's subscription swapped for pgduplex's at the same position; then the script's leftovers dropped on both
 * nodes, and the verify, which awaits rows in flight (both nodes keep taking writes throughout).
 */
export function adoptPhases(c: AdoptContext): PlanPhase[] {
  const { f, adoption } = c;
  const handovers = adoption.directions.map((d): PlanPhase => {
    const name = `handover from ${d.from.node}`;
    const barrier = `${d.to.node} streams from ${d.from.node} through pgduplex before the next step`;
    if (!d.old)
      return { name, parallel: false, barrier, steps: [say(`adopt:${d.to.node}:done`, d.to, `${name}: done`)] };
    const slot = change(
      `adopt:${d.from.node}:slot-copy`,
      d.from,
      'slot-copy',
      { database: f.database, from: d.old.slot, to: subscriptionName(d.from.node) },
      c.before,
    );
    const sub = change(
      `adopt:${d.to.node}:subscription-adopt`,
      d.to,
      'subscription-adopt',
      {
        database: f.database,
        name: subscriptionName(d.from.node),
        publication: PUBLICATION,
        peer: { host: d.from.address, port: f.pgPort, database: f.database, user: REPL_ROLE },
        options: { origin: 'none', copyData: false, binary: c.binary, streaming: 'parallel' },
        adopt: d.old.subscription,
      },
      [...c.before, slot.id],
    );
    return { name, parallel: false, barrier, steps: [slot, sub] };
  });
  const handed = handovers.flatMap((p) => p.steps.map((s) => s.id));
  // Every subscription of the script's first, on both nodes: then none reads a slot the next steps drop.
  const nodeOf = (side: string) => (side === f.source.side ? f.source : f.target);
  const dropSubs = adoption.leftovers.flatMap((l) =>
    l.subscription
      ? [
          change(
            `adopt:${l.node}:foreign-drop-subscription`,
            nodeOf(l.side),
            'foreign-drop',
            { database: f.database, subscription: l.subscription },
            handed,
          ),
        ]
      : [],
  );
  const dropRest = adoption.leftovers.flatMap((l) =>
    l.slot || l.publication
      ? [
          change(
            `adopt:${l.node}:foreign-drop`,
            nodeOf(l.side),
            'foreign-drop',
            {
              database: f.database,
              ...(l.slot ? { slot: l.slot } : {}),
              ...(l.publication ? { publication: l.publication } : {}),
            },
            [...handed, ...dropSubs.map((d) => d.id)],
          ),
        ]
      : [],
  );
  const drops = [...dropSubs, ...dropRest];
  const access = adoption.access.map((x) => {
    const n = x.side === f.source.side ? f.source : f.target;
    const params = { peer: x.peer, port: f.pgPort };
    return change(`adopt:${n.node}:foreign-access`, n, 'foreign-access', params, [
      ...handed,
      ...drops.map((d) => d.id),
    ]);
  });
  const both = { side: f.source.side, node: `${f.source.node}+${f.target.node}` };
  const verify: PlanStep = {
    id: 'verify',
    kind: 'verify',
    ...both,
    action: 'verify',
    params: {
      ...c.verify,
      settled: { onSource: subscriptionName(f.source.node), onTarget: subscriptionName(f.target.node) },
    },
    after: [...handed, ...drops.map((s) => s.id), ...access.map((s) => s.id)],
  };
  return [
    ...handovers,
    {
      name: "the script's leftovers",
      parallel: false,
      barrier: 'verify compares what pgduplex replicates alone',
      steps: drops,
    },
    {
      name: "the script's access",
      parallel: false,
      barrier: "pgduplex's own pg_hba block and firewall rule carry the pair from here",
      steps: access,
    },
    { name: 'verify', parallel: false, barrier: 'the end', steps: [verify] },
  ].filter((p) => p.steps.length > 0);
}

const say = (id: string, n: NodeRef, what: string): PlanStep => ({
  id,
  kind: 'say',
  side: n.side,
  node: n.node,
  action: what.split(':')[0]!,
  params: {},
  after: [],
  line: { status: 'ok', what },
});

/**
 * The confirmation for what the handover removes that pgduplex did not make: the script's pg_hba.conf blocks and
 * 5432 rules, named per node (replication objects are dropped only once pgduplex's streams in their place).
 */
export function accessConfirmation(f: PairFacts, adoption: Adoption): Confirmation | undefined {
  if (adoption.access.length === 0) return undefined;
  const named = adoption.access.map((x) => `on ${x.node}: ${x.what.join('; ')}`).join('; ');
  const what = `the access FS PBX's script opened for the peer, unused once pgduplex replicates (${named})`;
  return {
    side: f.source.side,
    node: `${f.source.node}+${f.target.node}`,
    question:
      `After the handover, about to remove ${what}; pgduplex's own hostssl scram block and rule for the ` +
      "pair's role take their place. Continue?",
    dataLoss: false,
    refusal: { message: `setup --adopt would remove ${what}`, hint: 'nothing was changed; re-run with --yes' },
    unconfirmed: `not confirmed: setup --adopt would remove ${what}`,
  };
}
