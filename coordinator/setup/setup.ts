import type { Agents, Side } from './agents.js';
import type { BootstrapOptions } from './bootstrap.js';
import { execute, type SetupResult } from './execute.js';
import { gather } from './gather.js';
import { planSetup } from './plan.js';
import type { KeylessRemedy } from './preflight.js';
import { preview, type PlanView } from './preview.js';

/** `pgduplex verify` reads the pair the way setup does. */
export { pairFacts } from './gather.js';
/** What a real run hands back, for the command's summary. */
export type { SetupResult } from './execute.js';

/** What the operator asked for. */
export interface SetupOptions extends BootstrapOptions {
  database: string;
  source: Side;
  /** Remedy for tables without a replica identity: leave them out, or give them REPLICA IDENTITY FULL. */
  keyless: KeylessRemedy;
  /** Compare every row even when the run changed nothing. */
  fullVerify?: boolean;
  /** max_slot_wal_keep_size on both nodes (default PAIR_SETTINGS'). */
  maxSlotWalKeepSize?: string;
  /** idle_replication_slot_timeout on both nodes (18+); off unless given. */
  idleSlotTimeout?: string;
  /** Take over the replication FS PBX's script made (setup --adopt). */
  adopt?: boolean;
}

/** What setup hands back: a real run's result, or a dry run's plan with every step's check answer. */
export type SetupOutcome = SetupResult & { plan?: PlanView };

/**
 * `pgduplex setup`: gathers what both nodes report (reads only), plans from it (pure), then runs the
 * plan — or, for --dry-run, shows it with each step's check answer or predicted, changing nothing.
 */
export async function setup(agents: Agents, o: SetupOptions): Promise<SetupOutcome> {
  const facts = await gather(agents, o);
  const plan = planSetup(facts, {
    keyless: o.keyless,
    ...(o.maxSlotWalKeepSize ? { maxSlotWalKeepSize: o.maxSlotWalKeepSize } : {}),
    ...(o.idleSlotTimeout ? { idleSlotTimeout: o.idleSlotTimeout } : {}),
    ...(o.fullVerify ? { fullVerify: true } : {}),
  });
  if (o.dryRun) return { plan: await preview(agents, plan, o.report) };
  return execute(agents, plan, o);
}
