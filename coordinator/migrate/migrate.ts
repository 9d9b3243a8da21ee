import { PgduplexError } from '../../shared/errors.js';
import { sequencesStatusAction } from '../../shared/protocol/replication-actions.js';
import type { Agents, Side } from '../setup/agents.js';
import { pairFacts } from '../setup/gather.js';
import type { Report } from '../setup/runner.js';
import { drained, pairSlots } from '../setup/settled.js';
import { atStep as setupStep } from '../setup/stage.js';
import { sequenceSlots, subscriptionName, type PairFacts } from '../setup/steps.js';
import { verifyPair, verified, type VerifyResult } from '../setup/verify.js';
import { gatherPair } from '../status/gather.js';
import { assessPair } from '../status/verdict.js';
import { backUpSchemas, carryPlan, converge, type ConvergeContext, type KeylessChoice } from './converge.js';
import { planCarry } from './diff.js';

const atStep = <T>(step: string, run: () => Promise<T>) => setupStep(step, run, 'migrate');
import { readNode, setSubscriptionEnabled, subscriptionOf } from './pair-ops.js';

/** What `pgduplex migrate` was asked to do. */
export interface MigrateOptions {
  database: string;
  /** The operator's command (argv); absent for --sync-schema. */
  command?: readonly string[];
  /** --sync-schema: the node whose schema is carried; found from the difference when absent. */
  from?: string;
  dryRun: boolean;
  yes: boolean;
  keyless: KeylessChoice;
  report: Report;
  confirm?: (question: string) => Promise<boolean>;
  /** Runs the command here, as the operator, and answers its exit code. */
  runCommand: (argv: readonly string[]) => Promise<number>;
}

/** What a migrate did, for the summary and --json. */
export interface MigrateResult {
  plan: string[];
  carried: string[];
  refused: string[];
  commandExit?: number;
  verify?: VerifyResult;
}

/** The steps a run takes, in words, for --dry-run and the confirmation. */
function planWords(f: PairFacts, command: readonly string[] | undefined, carry: string[]): string[] {
  const s = f.source.node;
  const t = f.target.node;
  return [
    ...(command
      ? [
          `back up both nodes' schema definitions`,
          `hold ${t}'s subscription ${subscriptionName(s)} ` +
            `(${s}'s writes wait in its slot; ${t}'s keep flowing to ${s})`,
          `run on ${s}: ${command.join(' ')}`,
          `carry the schema change it commits to ${t} in one transaction (new tables held against ${t}'s own writes)`,
        ]
      : [`carry ${s}'s schema to ${t} in one transaction:`, ...carry.map((c) => `  ${c}`)]),
    `new tables: a replica identity and disjoint sequences on both nodes; subscribed on ${s} without a copy and on ` +
      `${t} with one, so each row arrives once`,
    `columns with volatile defaults: ${s}'s values sent again so ${t} has the same`,
    `release the hold, wait for the lag to drain, verify both nodes`,
  ];
}

/** Which node --sync-schema carries from: the one named, else the one that has everything the other has. */
async function syncSource(agents: Agents, o: MigrateOptions): Promise<Side> {
  const f = await pairFacts(agents, o.database, 'local');
  if (o.from !== undefined) {
    const side = [f.source, f.target].find((n) => n.node === o.from)?.side;
    if (!side)
      throw new PgduplexError('USAGE', `--from ${o.from} names neither node`, {
        hint: `name ${f.source.node} or ${f.target.node}`,
      });
    return side;
  }
  const [l, p] = await Promise.all([readNode(agents, f, f.source), readNode(agents, f, f.target)]);
  const toPeer = planCarry(l.model, p.model);
  const toLocal = planCarry(p.model, l.model);
  if (toPeer.statements.length === 0 && toLocal.statements.length === 0) return 'local';
  if (toPeer.refused.length === 0 && toPeer.statements.length > 0) return 'local';
  if (toLocal.refused.length === 0 && toLocal.statements.length > 0) return 'peer';
  throw new PgduplexError('REFUSED', 'each node has schema the other lacks, so the direction is not clear', {
    hint: `name the node whose schema is right: --from ${f.source.node} or --from ${f.target.node}`,
  });
}

/** The pair must replicate both ways, healthy and drained, before the operator's command runs. */
async function preflight(agents: Agents, f: PairFacts, report: Report): Promise<void> {
  const status = assessPair(await gatherPair(agents, f.database), {
    maxLagBytes: 64 * 1024 * 1024,
    maxLagSeconds: 300,
  });
  if (status.verdict !== 'healthy') {
    const problems = status.directions.flatMap((d) => d.problems.map((p) => `${d.from} -> ${d.to}: ${p.text}`));
    throw new PgduplexError('REFUSED', `the pair is ${status.verdict}: ${problems.slice(0, 3).join('; ')}`, {
      hint: 'pgduplex status says what to do; migrate runs on a healthy pair (for schema drift: migrate --sync-schema)',
    });
  }
  await drained(agents, f, pairSlots(f));
  report('ok', `${f.source.node}+${f.target.node}`, 'preflight: both directions stream, lag drained, schemas equal');
}

/**
 * `pgduplex migrate`: runs the operator's command on this node with the peer's subscription held, then carries the
 * schema change it committed to the peer and lets its data follow by replication (converge); `--sync-schema` does
 * the carrying alone for a change made outside pgduplex. A run cut short is finished by the next.
 */
export async function migrate(agents: Agents, o: MigrateOptions): Promise<MigrateResult> {
  const source: Side = o.command ? 'local' : await atStep('preflight', () => syncSource(agents, o));
  const f = await atStep('the pairing check', () => pairFacts(agents, o.database, source));
  const [s, t] = await Promise.all([readNode(agents, f, f.source), readNode(agents, f, f.target)]);
  const onTarget = subscriptionOf(t, f.source);
  if (!onTarget || !subscriptionOf(s, f.target))
    throw new PgduplexError('NOT_SET_UP', 'the pair does not replicate both ways', {
      hint: 'run pgduplex setup first',
    });
  const [sq, tq] = await Promise.all(
    [f.source, f.target].map((n) => agents.call(n.side, sequencesStatusAction, { database: o.database })),
  );
  const slots = sequenceSlots(sq!, tq!);
  const carry = carryPlan(f, s, t);
  const unfinished = !onTarget.enabled || t.held.length > 0;
  const plan = planWords(f, o.command, carry.summary);
  if (o.command && !unfinished && (carry.statements.length > 0 || carry.refused.length > 0))
    throw new PgduplexError(
      'REFUSED',
      `the schemas differ before the command runs: ${[...carry.summary, ...carry.refused].slice(0, 3).join('; ')}`,
      {
        hint: 'bring them together first with pgduplex migrate --sync-schema (pgduplex status shows the drift)',
      },
    );
  if (unfinished) o.report('note', f.target.node, 'an earlier migrate was cut short: it is finished first');
  if (o.dryRun) {
    for (const line of plan) o.report('would', f.source.node, line);
    for (const r of carry.refused) o.report('REFUSED', f.target.node, r);
    return { plan, carried: [], refused: carry.refused };
  }
  if (!o.yes) {
    const what = o.command ? `run ${o.command.join(' ')} on ${f.source.node}` : `change ${f.target.node}'s schema`;
    if (!o.confirm)
      throw new PgduplexError(
        'NOT_CONFIRMED',
        `migrate would ${what} and carry the schema change; nothing was changed`,
        {
          hint: 'pass --yes to go ahead (--dry-run shows the plan)',
        },
      );
    if (!(await o.confirm(`${what} and carry the schema change to ${f.target.node}?`)))
      throw new PgduplexError('NOT_CONFIRMED', 'not confirmed: nothing was changed');
  }
  const ctx: ConvergeContext = { agents, f, slots, keyless: o.keyless, report: o.report };
  if (unfinished) await atStep('finishing the earlier migrate', () => converge(ctx));
  let commandExit: number | undefined;
  if (o.command) {
    await atStep('preflight', () => preflight(agents, f, o.report));
    await backUpSchemas(agents, f, o.report);
    ctx.backedUp = true;
    await atStep('the hold', () => setSubscriptionEnabled(agents, f, f.target, f.source, false, o.report));
    o.report('...', f.source.node, `running: ${o.command.join(' ')}`);
    commandExit = await o.runCommand(o.command);
    o.report(commandExit === 0 ? 'ok' : 'FAILED', f.source.node, `command exited ${commandExit}`);
  }
  const done = await atStep('carrying the schema', () => converge(ctx));
  for (const r of done.refused) o.report('REFUSED', f.target.node, r);
  const published = (await readNode(agents, f, f.source)).snapshot.published;
  const excluded = published ? s.model.tables.map((x) => `public.${x.name}`).filter((x) => !published.includes(x)) : [];
  const verify = await atStep('verify', () => verifyPair(agents, f, o.report, excluded, { settled: pairSlots(f) }));
  return {
    plan,
    carried: done.carried,
    refused: done.refused,
    ...(commandExit === undefined ? {} : { commandExit }),
    verify,
  };
}

/** Whether a migrate ended with both nodes equal and nothing left for the operator. */
export const migrated = (r: MigrateResult): boolean =>
  (r.commandExit ?? 0) === 0 && r.refused.length === 0 && (r.verify === undefined || verified(r.verify));
