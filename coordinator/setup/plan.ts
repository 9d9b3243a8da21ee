import { PgduplexError } from '../../shared/errors.js';
import type { Side } from './agents.js';
import { accessConfirmation, adoptPhases } from './adopt-plan.js';
import { bootstrapConfirmation, type Bootstrap, type Confirmation } from './bootstrap.js';
import { keylessTables, type KeylessRemedy, type Preflight } from './preflight.js';
import {
  configureSteps,
  credentialSteps,
  extensionStep,
  listenFor,
  publishSteps,
  sequenceStep,
  subscriptionName,
  subscriptionStep,
  type ChangeStep,
  type PairFacts,
} from './steps.js';

/** Stands in the plan for the replication role's password, generated only when the plan runs. */
export const GENERATED_PASSWORD = '<generated>';
/** Stands in the plan for the id of the backup an earlier step of the same run takes. */
export const BACKUP_ID = '<the backup taken before>';

type NodeRef = PairFacts['source'];

/**
 * What a step does when it runs: a check → apply change, a restart if its node's pg-settings asks for
 * one, a reach, a fixed line, a backup, a wait, a guard against a left-over slot, or the verify.
 */
export type StepKind =
  'change' | 'restart' | 'reach' | 'say' | 'backup' | 'catch-up' | 'orphan-slot' | 'copy' | 'verify';

/** One step of setup on one node: the agent action it runs and its params (never a password). */
export interface PlanStep {
  readonly id: string;
  readonly kind: StepKind;
  readonly side: Side;
  readonly node: string;
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Steps whose effect this step's check needs: a dry run predicts it while any of them would change. */
  readonly after: readonly string[];
  /** For 'say': the fixed line. */
  readonly line?: { readonly status: string; readonly what: string };
}

/** Steps that run together; the next phase starts only when every step here is done (the barrier). */
export interface PlanPhase {
  readonly name: string;
  readonly parallel: boolean;
  /** Why the next phase waits for this one. */
  readonly barrier: string;
  readonly steps: readonly PlanStep[];
}

/** The whole setup as data: gathered facts in, ordered phases and the confirmations they need out. */
export interface SetupPlan {
  readonly pair: PairFacts;
  readonly bootstrap: Bootstrap['kind'];
  readonly phases: readonly PlanPhase[];
  /** Asked (or given by --yes / --replace-peer-data) before the first change. */
  readonly confirmations: readonly Confirmation[];
}

/** What setup has read before it plans; gathering it changes nothing. */
export interface SetupFacts {
  readonly pair: PairFacts;
  readonly pre: Preflight;
  readonly boot: Bootstrap;
  /** credentials.status on both nodes: the role and both passfile lines already exist. */
  readonly credentialsInPlace: boolean;
  /** Which residue each node's sequences take (default odd for the source): a pair set up keeps its own. */
  readonly slots?: { readonly source: 1 | 2; readonly target: 1 | 2 };
}

/** The operator's choices the plan depends on. */
export interface PlanOptions {
  readonly keyless: KeylessRemedy;
  readonly maxSlotWalKeepSize?: string;
  readonly idleSlotTimeout?: string;
  readonly fullVerify?: boolean;
}

type Where = { readonly side: Side; readonly node: string };
type Params = Readonly<Record<string, unknown>>;

type After = readonly string[];
const step = (id: string, kind: StepKind, n: Where, action: string, params: Params, after: After = []): PlanStep => ({
  id,
  kind,
  side: n.side,
  node: n.node,
  action,
  params,
  after,
});
const change = (id: string, s: ChangeStep, after: readonly string[] = []): PlanStep =>
  step(id, 'change', s, s.action, s.params as Params, after);
const stepId = (phase: string, n: { node: string }, action: string) => `${phase}:${n.node}:${action}`;
const ids = (steps: readonly PlanStep[]) => steps.map((s) => s.id);
const say = (id: string, n: Where, status: string, what: string): PlanStep => ({
  ...step(id, 'say', n, what.split(':')[0]!, {}),
  line: { status, what },
});
const phase = (name: string, barrier: string, steps: readonly PlanStep[], parallel = false): PlanPhase => ({
  name,
  parallel,
  barrier,
  steps,
});

function configurePhases(facts: SetupFacts, o: PlanOptions): { phases: PlanPhase[]; before: string[] } {
  const f = facts.pair;
  const listen: Partial<Record<Side, string>> = {};
  for (const n of [f.source, f.target]) {
    const wider = listenFor(facts.pre.pg[n.side].settings['listen_addresses'], n.address);
    if (wider) listen[n.side] = wider;
  }
  if (o.idleSlotTimeout !== undefined) {
    const old = [f.source, f.target].find((n) => facts.pre.pg[n.side].serverVersionNum < 180000);
    if (old)
      throw new PgduplexError(
        'USAGE',
        `--idle-slot-timeout needs PostgreSQL 18 on both nodes; ${old.node} runs older`,
        {
          hint: 'leave it out (slots are then kept as long as max_slot_wal_keep_size allows)',
        },
      );
  }
  const configure = configureSteps(f, listen, o.maxSlotWalKeepSize, o.idleSlotTimeout).map((s) =>
    change(stepId('configure', s, s.action), s),
  );
  const when = { when: 'its pg-settings step needs a restart' };
  const restart = [f.source, f.target].map((n) =>
    step(stepId('restart', n, 'pg-service'), 'restart', n, 'pg-service.restart', when, [
      stepId('configure', n, 'pg-settings'),
    ]),
  );
  const before = [...ids(configure), ...ids(restart)];
  const reach = [
    [f.target, f.source],
    [f.source, f.target],
  ].map(([from, to]) =>
    step(
      stepId('reach', from!, 'pg-reach'),
      'reach',
      from!,
      'pg-reach',
      { host: to!.address, port: f.pgPort, node: to!.node },
      before,
    ),
  );
  return {
    before,
    phases: [
      phase('configure', 'a restart reads the settings every node has written', configure),
      phase('restarts', 'PostgreSQL must be up again before it is reached', restart, true),
      phase('reaches', 'nothing is created before each node reaches the other', reach, true),
    ],
  };
}

function credentialPhase(facts: SetupFacts): PlanPhase {
  const f = facts.pair;
  const both = { side: f.source.side, node: `${f.source.node}+${f.target.node}` };
  const steps = facts.credentialsInPlace
    ? [say('credentials', both, 'ok', 'credentials: replication role and passfiles in place')]
    : credentialSteps(f, GENERATED_PASSWORD).map((s) => change(stepId('credentials', s, s.action), s));
  return phase('credentials', 'subscriptions log in with the role and passfiles', steps);
}

/** The target's schema: said as it is, imported, or replaced after a backup (after the catch-up for a resync). */
function bootstrapSteps(f: PairFacts, boot: Bootstrap): PlanStep[] {
  const t = f.target;
  const id = (a: string) => stepId('bootstrap', t, a);
  const database = f.database;
  const importStep = (params: Params, after: string[] = []) =>
    change(id('schema-import'), { side: t.side, node: t.node, action: 'schema-import', params }, after);
  if (boot.kind === 'adopt') {
    return [
      say(
        id('say'),
        t,
        'ok',
        "bootstrap: both nodes hold the same data (compared); the script's replication is taken over, nothing copied",
      ),
    ];
  }
  if (boot.kind === 'subscribed') {
    return [say(id('say'), t, 'ok', 'bootstrap: already subscribed to the source, nothing to copy')];
  }
  if (boot.kind === 'kept') {
    const what = `bootstrap: ${t.node} already holds the same ${boot.tables} tables and no rows; schema kept`;
    return [say(id('say'), t, 'ok', what)];
  }
  if (boot.kind === 'import') return [importStep({ database })];
  const steps: PlanStep[] = [];
  if (boot.kind === 'resync') {
    const { slot, on, why } = boot.slot;
    const what = `resync: the slot ${slot} on ${on} ${why}; ${t.node} is copied from ${f.source.node} again`;
    steps.push(say(id('resync'), t, 'note', what));
    const until = { waitUntil: `${f.source.node} has every change made on ${t.node}` };
    steps.push(step(id('catch-up'), 'catch-up', f.source, 'replication.status', until));
    const drop = { database, name: subscriptionName(f.source.node) };
    steps.push(step(id('subscription-drop'), 'change', t, 'subscription-drop', drop));
    if (boot.tables === 0) return [...steps, importStep({ database })];
  }
  steps.push(step(id('backup'), 'backup', t, 'backup', { database }));
  return [...steps, importStep({ database, replace: { tables: boot.tables, backupId: BACKUP_ID } }, [id('backup')])];
}

/** Binary transfer is faster, and safe when both servers share a major version and every column type has binary I/O. */
function binaryTransfer(pre: SetupFacts['pre']): boolean {
  const major = (side: Side) => Math.floor(pre.pg[side].serverVersionNum / 10000);
  return major('local') === major('peer') && pre.hazards.typesWithoutBinary.length === 0;
}

type Context = { facts: SetupFacts; o: PlanOptions; imported: string[]; loggedIn: string[] };

/** The subscriptions (each after a guard against a slot a cut-short run left), the copy, sequences, verify. */
function streamPhases({ facts, o, imported, loggedIn }: Context, publications: readonly PlanStep[]): PlanPhase[] {
  const f = facts.pair;
  const { pre } = facts;
  const copies = facts.boot.kind !== 'subscribed';
  const binary = binaryTransfer(pre);
  const subscribe = (on: NodeRef, from: NodeRef, copy: boolean, after: string[]): PlanStep[] => {
    const slot = { slot: subscriptionName(from.node), if: `no subscription on ${on.node} uses it` };
    const guard = step(stepId('orphan-slot', from, 'slot-drop'), 'orphan-slot', from, 'slot-drop', slot, imported);
    const sub = subscriptionStep(f, on, from, copy, binary);
    return [guard, change(stepId('subscription', on, 'subscription'), sub, [...after, guard.id])];
  };
  const forward = subscribe(f.target, f.source, copies, [...loggedIn, publications[0]!.id, ...imported]);
  const ready = { waitUntil: 'every table is ready', bytes: pre.hazards.tableBytes };
  const copy = step(stepId('copy', f.target, 'initial-copy'), 'copy', f.target, 'subscription.status', ready, [
    forward[1]!.id,
  ]);
  // Only after the copy does the target hold the source's keys, so its sequences can start above them.
  const targetSeq = change(
    stepId('sequences', f.target, 'sequences'),
    sequenceStep(f, f.target, facts.slots?.target ?? 2),
    [copy.id],
  );
  const reverse = subscribe(f.source, f.target, false, [...loggedIn, publications[1]!.id]);
  const both = { side: f.source.side, node: `${f.source.node}+${f.target.node}` };
  const excluded = o.keyless === 'exclude' ? pre.keyless : [];
  const how = { excluded, fullVerify: o.fullVerify === true };
  const verify = step('verify', 'verify', both, 'verify', how, [copy.id, reverse[1]!.id]);
  return [
    phase('subscription', 'the copy starts with the subscription', forward),
    // Also when already subscribed: a run cut short in the copy resumes waiting for it.
    phase('initial copy', "the target's sequences start above the copied keys", [copy]),
    phase('sequences after the copy', 'the reverse subscription copies nothing: keys are disjoint first', [targetSeq]),
    phase('reverse subscription', 'verify compares both directions', reverse),
    phase('verify', 'the end', [verify]),
  ];
}

/**
 * Decides the whole setup from what was gathered, touching nothing: configure, restarts, reaches,
 * credentials, extensions, bootstrap, sequences, publications, the subscription, the copy, the
 * target's sequences, the reverse subscription, verify; empty phases are left out.
 */
export function planSetup(facts: SetupFacts, o: PlanOptions): SetupPlan {
  const f = facts.pair;
  const { pre, boot } = facts;
  const { phases: access, before } = configurePhases(facts, o);
  const credentials = credentialPhase(facts);
  const fullIdentity = o.keyless === 'replica-identity-full' && pre.keyless.length > 0;
  const identityParams = { database: f.database, tables: keylessTables(pre.keyless) };
  const keyless = (n: NodeRef, after: string[] = []) =>
    fullIdentity
      ? [step(stepId('identity', n, 'replica-identity'), 'change', n, 'replica-identity', identityParams, after)]
      : [];
  const copies = boot.kind !== 'subscribed' && boot.kind !== 'adopt';
  const bootstrap = bootstrapSteps(f, boot);
  const imported = ids(bootstrap.filter((s) => s.action === 'schema-import' || s.action === 'subscription-drop'));
  const [pubSource, pubTarget] = publishSteps(f, pre.tables);
  const publications = [
    change(stepId('publication', f.source, 'publication'), pubSource!),
    change(stepId('publication', f.target, 'publication'), pubTarget!, imported),
  ];
  // Created by the target's own statements, apart from the replay of the source's dump, which leaves them be.
  const extensions = change(stepId('extensions', f.target, 'extensions'), extensionStep(f, pre.hazards.extensions));
  const sourceSeq = change(
    stepId('sequences', f.source, 'sequences'),
    sequenceStep(f, f.source, facts.slots?.source ?? 1),
  );
  // Adopted nodes hold each other's keys already: both sequences move above them at once.
  const targetSeq = change(
    stepId('sequences', f.target, 'sequences'),
    sequenceStep(f, f.target, facts.slots?.target ?? 2),
  );
  const loggedIn = [...before, ...ids(credentials.steps)];
  const excluded = o.keyless === 'exclude' ? pre.keyless : [];
  const stream =
    boot.kind === 'adopt'
      ? adoptPhases({
          f,
          adoption: boot.adoption,
          binary: binaryTransfer(pre),
          before: [...loggedIn, ...ids(publications)],
          verify: { excluded, fullVerify: o.fullVerify === true },
        })
      : streamPhases({ facts, o, imported, loggedIn }, publications);
  const phases: PlanPhase[] = [
    ...access,
    credentials,
    phase('replica identity on the source', 'its keyless tables are published with it', keyless(f.source)),
    phase('extensions', "the target's schema needs them", copies ? [extensions] : []),
    phase('bootstrap', 'publications and the subscription need the tables', bootstrap),
    phase('replica identity on the target', 'its keyless tables are published with it', keyless(f.target, imported)),
    phase(
      'sequences',
      'the source hands out odd values before anything is copied',
      boot.kind === 'adopt' ? [sourceSeq, targetSeq] : [sourceSeq],
    ),
    phase('publications', 'a subscription reads a publication', publications),
    ...stream,
  ].filter((p) => p.steps.length > 0);
  const confirmation = boot.kind === 'adopt' ? accessConfirmation(f, boot.adoption) : bootstrapConfirmation(f, boot);
  return { pair: f, bootstrap: boot.kind, phases, confirmations: confirmation ? [confirmation] : [] };
}

/** Every step of a plan in the order it runs. */
export const planSteps = (p: SetupPlan): PlanStep[] => p.phases.flatMap((ph) => [...ph.steps]);
