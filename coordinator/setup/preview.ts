import { pgReachAction } from '../../shared/protocol/postgres.js';
import { subscriptionStatusAction } from '../../shared/protocol/replication-actions.js';
import type { Agents } from './agents.js';
import type { Confirmation } from './bootstrap.js';
import { newPassword, resolveParams } from './execute.js';
import { dropOrphanSlot } from './orphan-slot.js';
import { GENERATED_PASSWORD, type PlanStep, type SetupPlan } from './plan.js';
import { runChange, type Report } from './runner.js';
import { atStep } from './stage.js';
import { subscriptionName } from './steps.js';

/** A step's check as a dry run found it: what it would change now, or predicted when that depends on earlier steps. */
export type StepAnswer =
  | { readonly predicted: false; readonly changes: readonly string[] }
  | { readonly predicted: true; readonly reason: string; readonly after?: readonly string[] };

/** One step as `--dry-run` shows it (and `--json` emits it): node, action, params without secrets, its answer. */
export interface StepView {
  readonly id: string;
  readonly node: string;
  readonly side: string;
  readonly action: string;
  readonly params: unknown;
  readonly check: StepAnswer;
}

/** One phase as a dry run shows it: its steps, whether they run together, and why the next one waits. */
export interface PhaseView {
  readonly name: string;
  readonly parallel: boolean;
  readonly barrier: string;
  readonly steps: readonly StepView[];
}

/** The plan as a dry run shows it: how the target gets its schema, the phases, then the confirmations. */
export interface PlanView {
  readonly bootstrap: string;
  readonly phases: readonly PhaseView[];
  readonly confirmations: ReadonlyArray<{ readonly node: string; readonly question: string; readonly needs: string }>;
}

/** Params as they may be shown: any password, whatever it holds, becomes the placeholder. */
export function redact(params: unknown): unknown {
  if (Array.isArray(params)) return params.map(redact);
  if (params === null || typeof params !== 'object') return params;
  const shown = (k: string, v: unknown) => (/password/i.test(k) ? GENERATED_PASSWORD : redact(v));
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, shown(k, v)]));
}

const WAITS: Partial<Record<PlanStep['kind'], string>> = {
  'catch-up': 'a wait: runs in a real run only',
  verify: 'compares both nodes once everything before it is done',
};

/** What a predicted step is about, in a few words of its params. */
function about(step: PlanStep): string {
  const p = step.params;
  if (typeof p['waitUntil'] === 'string') return `wait until ${p['waitUntil']}`;
  if (step.kind === 'orphan-slot') return `drop slot ${String(p['slot'])} if ${String(p['if'])}`;
  if (step.kind === 'verify') return 'compare schema, sequences and rows on both nodes';
  if (step.action === 'subscription') {
    const copy = (p['options'] as { copyData: boolean }).copyData;
    return `subscription ${String(p['name'])}${copy ? ' with' : ' without'} copy_data`;
  }
  if (step.action === 'schema-import') {
    const replace = p['replace'] as { tables: number } | undefined;
    return replace
      ? `replace the ${replace.tables} tables of schema public with the source's`
      : "import the source's schema";
  }
  return step.action;
}

/** Step ids (phase:node:action) in words: each phase once, with its nodes. */
function grouped(ids: readonly string[]): string {
  const nodes = new Map<string, string[]>();
  for (const id of ids) {
    const [phase = id, node = ''] = id.split(':');
    nodes.set(phase, [...new Set([...(nodes.get(phase) ?? []), node])]);
  }
  return [...nodes].map(([phase, on]) => `${phase} on ${on.join(', ')}`).join('; ');
}

const PROMPT = '--yes or y at the prompt';
const needs = (c: Confirmation) => (c.dataLoss ? `--replace-peer-data, and ${PROMPT}` : PROMPT);

type Answers = Map<string, StepAnswer & { restartNeeded?: boolean }>;

/** The answer of a step that is not predicted: its check, or for a restart its pg-settings step's check. */
async function checkNow(
  agents: Agents,
  plan: SetupPlan,
  step: PlanStep,
  answers: Answers,
  report: Report,
): Promise<StepAnswer> {
  const f = plan.pair;
  const dry = { dryRun: true, report };
  const nothing = { predicted: false as const, changes: [] };
  switch (step.kind) {
    case 'restart': {
      const needed = answers.get(step.after[0] ?? '')?.restartNeeded === true;
      if (needed) report('would', step.node, 'pg-service: restart PostgreSQL');
      else report('ok', step.node, 'pg-service: no restart needed');
      return { predicted: false, changes: needed ? ['restart PostgreSQL'] : [] };
    }
    case 'say':
      report(step.line!.status, step.node, step.line!.what);
      return nothing;
    case 'orphan-slot': {
      const [on, from] = step.side === f.source.side ? [f.target, f.source] : [f.source, f.target];
      const out = await atStep(`subscription on ${on.node}`, () => dropOrphanSlot(agents, f, on, from, dry));
      return { predicted: false, changes: out?.changes ?? [] };
    }
    case 'copy': {
      // Nothing to wait for only when the subscription exists and every table is ready now.
      const subs = await agents.call(step.side, subscriptionStatusAction, { database: f.database });
      const sub = subs.find((s) => s.name === subscriptionName(f.source.node));
      const total = Object.values(sub?.tables ?? {}).reduce((a, b) => a + b, 0);
      if (!sub || total === 0 || (sub.tables['r'] ?? 0) < total) {
        return { predicted: true, reason: 'a wait: the copy is not done' };
      }
      report('ok', step.node, `initial copy: all ${total} tables are ready, nothing to copy`);
      return nothing;
    }
    case 'reach': {
      const to = step.side === f.source.side ? f.target : f.source;
      const res = await agents.call(step.side, pgReachAction, { host: to.address, port: f.pgPort });
      const at = `reach: PostgreSQL on ${to.node} (${to.address}:${f.pgPort})`;
      if (res.reachable) report('ok', step.node, `${at} answers in ${res.ms} ms`);
      else report('note', step.node, `${at} does not answer now: ${res.error ?? 'unknown'}`);
      return nothing;
    }
    default: {
      // The checks of the role and passfile take a password like the real run's; it is never shown.
      const params = resolveParams(step.params, { password: newPassword() });
      const out = await runChange(agents, { side: step.side, node: step.node, action: step.action, params }, dry);
      return { predicted: false, changes: out.changes, ...(out.restartNeeded ? { restartNeeded: true } : {}) };
    }
  }
}

/**
 * `--dry-run`: asks each step's check now where its params and preconditions exist now, and marks as
 * predicted every step whose answer depends on an earlier step's effect (or on a wait). Changes nothing.
 */
export async function preview(agents: Agents, plan: SetupPlan, report: Report): Promise<PlanView> {
  const answers: Answers = new Map();
  const unsettled = (id: string) => {
    const a = answers.get(id);
    return !a || a.predicted || a.changes.length > 0;
  };
  const confirmations = plan.confirmations.map((c) => ({ node: c.node, question: c.question, needs: needs(c) }));
  // Asked before the first change, so shown before the first step.
  for (const c of confirmations) report('confirm', c.node, `bootstrap: a real run needs ${c.needs}: ${c.question}`);
  const phases: PhaseView[] = [];
  for (const ph of plan.phases) {
    const steps: StepView[] = [];
    for (const step of ph.steps) {
      const pending = step.kind === 'restart' ? [] : step.after.filter(unsettled);
      const wait = WAITS[step.kind];
      const check: StepAnswer = wait
        ? { predicted: true, reason: wait }
        : pending.length > 0
          ? { predicted: true, reason: `its check needs the effect of ${grouped(pending)}`, after: pending }
          : await checkNow(agents, plan, step, answers, report);
      if (check.predicted) report('predict', step.node, `${step.action}: ${about(step)} (${check.reason})`);
      answers.set(step.id, check);
      const { restartNeeded: _, ...shown } = check as StepAnswer & { restartNeeded?: boolean };
      const { id, node, side, action } = step;
      steps.push({ id, node, side, action, params: redact(step.params), check: shown });
    }
    phases.push({ name: ph.name, parallel: ph.parallel, barrier: ph.barrier, steps });
  }
  return { bootstrap: plan.bootstrap, phases, confirmations };
}
