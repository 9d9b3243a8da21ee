import type { ParamsOf } from '../../shared/protocol/actions.js';
import { backupChange } from '../../shared/protocol/data.js';
import { pgReachAction, pgServiceRestartAction } from '../../shared/protocol/postgres.js';
import { randomBytes } from 'node:crypto';
import { PgduplexError } from '../../shared/errors.js';
import type { Agents } from './agents.js';
import { confirmBootstrap, waitForCopy, type BootstrapOptions } from './bootstrap.js';
import { dropOrphanSlot } from './orphan-slot.js';
import { BACKUP_ID, GENERATED_PASSWORD, type PlanStep, type SetupPlan } from './plan.js';
import { waitForReverseCatchUp } from './resync.js';
import { runChange, type StepOutcome } from './runner.js';
import type { PairSlots } from './settled.js';
import { atStep } from './stage.js';
import type { PairFacts } from './steps.js';
import { contentsVerifiedAt, verifyPair, type VerifyResult } from './verify.js';

/** What a finished setup hands back for the summary. */
export interface SetupResult {
  verify?: VerifyResult;
  /** Where the peer's previous data went, when it was replaced. */
  backup?: string;
  /** Whether any apply changed something (what the verify decides on). */
  changed?: boolean;
}

/** What running a plan needs from the operator's options. */
export type ExecuteOptions = Omit<BootstrapOptions, 'dryRun'>;

/** The params a step runs with: the placeholders of the plan replaced by this run's values. */
export function resolveParams(params: unknown, values: { password: string; backupId?: string }): unknown {
  if (params === GENERATED_PASSWORD) return values.password;
  if (params === BACKUP_ID && values.backupId !== undefined) return values.backupId;
  if (Array.isArray(params)) return params.map((p) => resolveParams(p, values));
  if (params !== null && typeof params === 'object') {
    return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, resolveParams(v, values)]));
  }
  return params;
}

/** A password for the replication role, made once per run; it lives only in this process and the agents. */
export const newPassword = (): string => randomBytes(24).toString('base64url');

/** What pg-reach answers. */
export type Reach = { reachable: boolean; ms: number; error?: string };

type Run = {
  readonly agents: Agents;
  readonly f: PairFacts;
  readonly o: ExecuteOptions;
  readonly outcomes: Map<string, StepOutcome>;
  password?: string;
  backupId?: string;
  backup?: string;
  changed: boolean;
  verify?: VerifyResult;
};

async function runStep(r: Run, step: PlanStep): Promise<void> {
  const { agents, f, o } = r;
  const chg = { dryRun: false, report: o.report };
  switch (step.kind) {
    case 'change': {
      r.password ??= newPassword();
      const values = { password: r.password, ...(r.backupId ? { backupId: r.backupId } : {}) };
      const params = resolveParams(step.params, values);
      const out = await runChange(agents, { side: step.side, node: step.node, action: step.action, params }, chg);
      r.outcomes.set(step.id, out);
      r.changed ||= out.status === 'changed';
      return;
    }
    case 'restart': {
      const settings = r.outcomes.get(step.after[0] ?? '');
      if (!settings?.restartNeeded) return;
      const params = settings.journalId ? { restoreJournalId: settings.journalId } : {};
      const restart = () => agents.call(step.side, pgServiceRestartAction, params, { timeoutMs: 300_000 });
      await atStep(`pg-service restart on ${step.node}`, restart);
      r.changed = true;
      return void o.report('changed', step.node, 'pg-service: restarted PostgreSQL for the new settings');
    }
    case 'reach':
      return reach(r, step);
    case 'say':
      return void o.report(step.line!.status, step.node, step.line!.what);
    case 'backup':
      return backup(r, step);
    case 'catch-up':
      return atStep(`the catch-up of ${f.source.node} from ${f.target.node}`, () =>
        waitForReverseCatchUp(agents, f, o.report),
      );
    case 'orphan-slot': {
      const [on, from] = step.side === f.source.side ? [f.target, f.source] : [f.source, f.target];
      const out = await atStep(`subscription on ${on.node}`, () => dropOrphanSlot(agents, f, on, from, chg));
      r.changed ||= out?.status === 'changed';
      return;
    }
    case 'copy':
      return atStep(`the initial copy to ${f.target.node}`, () =>
        waitForCopy(agents, f, o, Number(step.params['bytes'])),
      );
    case 'verify':
      return verify(r, step);
  }
}

async function reach(r: Run, step: PlanStep): Promise<void> {
  const [from, to] = step.side === r.f.source.side ? [r.f.source, r.f.target] : [r.f.target, r.f.source];
  const port = r.f.pgPort;
  await atStep(`reach from ${from.node} to ${to.node}`, async () => {
    const res = await r.agents.call(from.side, pgReachAction, { host: to.address, port });
    if (!res.reachable) {
      const where = `${to.node} at ${to.address}:${port}`;
      const why = res.error ?? 'unknown';
      throw new PgduplexError('PG_UNREACHABLE', `${from.node} cannot reach PostgreSQL on ${where}: ${why}`, {
        hint: `check listen_addresses on ${to.node} and any firewall between the nodes, then re-run pgduplex setup`,
      });
    }
    r.o.report('ok', from.node, `reach: PostgreSQL on ${to.node} (${to.address}:${port}) answers in ${res.ms} ms`);
  });
}

async function backup(r: Run, step: PlanStep): Promise<void> {
  const { o } = r;
  const onProgress = (m: string) => o.report('...', step.node, `backup: ${m}`);
  const res = await atStep(`backup on ${step.node}`, () =>
    r.agents.call(step.side, backupChange.apply, step.params as ParamsOf<typeof backupChange.apply>, {
      timeoutMs: 3_600_000,
      onProgress,
    }),
  );
  if (!res.artifact) throw new PgduplexError('INTERNAL', 'the backup did not report its id');
  const [where = res.artifact, ...more] = res.notes ?? [];
  // An agent may answer a repeat of the peer's request with the backup it took moments ago (changed: false).
  Object.assign(r, { backupId: res.artifact, backup: where, changed: r.changed || res.changed });
  o.report(res.changed ? 'changed' : 'ok', step.node, `backup: ${where}`);
  for (const n of more) o.report('note', step.node, `backup: ${n}`);
}

async function verify(r: Run, step: PlanStep): Promise<void> {
  const excluded = step.params['excluded'] as string[];
  const full = step.params['fullVerify'] === true;
  const settled = step.params['settled'] as PairSlots | undefined;
  // A run that changed nothing, after a full compare that passed since the last change, copied nothing:
  // comparing every row again is what `pgduplex verify` is for. An interrupted verify passed nothing.
  r.verify = await atStep('verify', async () => {
    const lastComparedAt = r.changed || full ? null : await contentsVerifiedAt(r.agents, r.f);
    const how =
      lastComparedAt === null
        ? { contents: true as const, ...(settled ? { settled } : {}) }
        : { contents: false as const, lastComparedAt };
    return verifyPair(r.agents, r.f, r.o.report, excluded, how);
  });
}

/**
 * Runs a plan: its confirmations first (a refusal changes nothing), then every phase in order, the
 * steps of a parallel phase together; `changed` comes from what the applies answered.
 */
export async function execute(agents: Agents, plan: SetupPlan, o: ExecuteOptions): Promise<SetupResult> {
  for (const c of plan.confirmations) await confirmBootstrap(c, o);
  const r: Run = { agents, f: plan.pair, o, outcomes: new Map(), changed: false };
  for (const phase of plan.phases) {
    if (phase.parallel) await Promise.all(phase.steps.map((s) => runStep(r, s)));
    else for (const s of phase.steps) await runStep(r, s);
  }
  return { ...(r.verify ? { verify: r.verify } : {}), ...(r.backup ? { backup: r.backup } : {}), changed: r.changed };
}
