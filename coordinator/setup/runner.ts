import { PgduplexError } from '../../shared/errors.js';
import { changeNamed } from '../../shared/protocol/catalogue.js';
import type { Agents } from './agents.js';
import { atStep } from './stage.js';
import type { ChangeStep } from './steps.js';

/** What one step did: nothing, changes, or (in a dry run) what it would change. */
export interface StepOutcome {
  status: 'ok' | 'changed' | 'would change';
  changes: string[];
  restartNeeded: boolean;
  journalId?: string;
}

/** Prints task lines: status, node, action, what happened. */
export type Report = (status: string, node: string, what: string) => void;

/**
 * Runs a step as check then apply (check only in a dry run); apply verifies on the node itself. A failure names the
 * step and the command to re-run (`command`, setup unless said).
 */
export function runChange(
  agents: Agents,
  step: ChangeStep,
  o: { dryRun: boolean; report: Report; timeoutMs?: number; command?: string },
): Promise<StepOutcome> {
  return atStep(`${step.action} on ${step.node}`, () => checkThenApply(agents, step, o), o.command);
}

async function checkThenApply(
  agents: Agents,
  step: ChangeStep,
  o: { dryRun: boolean; report: Report; timeoutMs?: number },
): Promise<StepOutcome> {
  const change = changeNamed(step.action);
  if (!change) throw new PgduplexError('INTERNAL', `no change named ${step.action} in the catalogue`);
  const check = await agents.call(step.side, change.check, step.params);
  if (check.changes.length === 0) {
    o.report('ok', step.node, `${step.action}: nothing to change`);
    return { status: 'ok', changes: [], restartNeeded: check.restartNeeded === true };
  }
  if (o.dryRun) {
    for (const c of check.changes) o.report('would', step.node, `${step.action}: ${c}`);
    return { status: 'would change', changes: check.changes, restartNeeded: check.restartNeeded === true };
  }
  const applied = await agents.call(step.side, change.apply, step.params, {
    timeoutMs: o.timeoutMs ?? 300_000,
    onProgress: (m) => o.report('...', step.node, `${step.action}: ${m}`),
  });
  for (const c of applied.changes) o.report(applied.changed ? 'changed' : 'ok', step.node, `${step.action}: ${c}`);
  for (const n of applied.notes ?? []) o.report('note', step.node, `${step.action}: ${n}`);
  return {
    status: applied.changed ? 'changed' : 'ok',
    changes: applied.changes,
    restartNeeded: applied.restartNeeded === true,
    ...(applied.journalId ? { journalId: applied.journalId } : {}),
  };
}
