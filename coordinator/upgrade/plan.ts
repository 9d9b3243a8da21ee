import { gb, type UpgradeFacts } from '../../shared/protocol/upgrade.js';
import type { PairFacts } from '../setup/steps.js';

/** The run in words for --dry-run and the confirmation: what stops, what keeps serving, what the agent will do. */
export function upgradeWords(
  f: PairFacts,
  facts: UpgradeFacts,
  agentSteps: readonly string[],
  o: { to: number; link: boolean; rebuild: boolean },
): string[] {
  const here = f.source.node;
  const peer = f.target.node;
  const cut = [
    ...facts.services.map((s) => `${s} (running)`),
    ...facts.sessions.map(
      (s) => `a session of ${s.user} on ${s.database} from ${s.client} (${s.application || 'no name'})`,
    ),
  ];
  return [
    `preflight: both directions stream with no apply error; ${peer} keeps taking the calls and the writes`,
    cut.length === 0
      ? `no PBX service or application session uses PostgreSQL on ${here}`
      : `on ${here} these lose the database for the upgrade (stop them first, calls go to ${peer}): ${cut.join('; ')}` +
        (o.rebuild ? ' (re-creating the slot, pg-upgrade refuses while they can write)' : ''),
    `disk: the cluster holds ${gb(facts.disk.clusterBytes)}, ${gb(facts.disk.freeBytes)} free; ` +
      (o.link ? '--link needs almost none' : 'copy mode needs about as much again'),
    `${peer}'s idle_replication_slot_timeout, if set, is 0 for the length of the upgrade (${here}'s slot stays)`,
    'wait until both directions have drained',
    ...(o.rebuild
      ? [`pause ${peer}'s subscription from ${here} until ${here}'s slot is re-created (a journaled change on ${peer})`]
      : []),
    ...agentSteps.map((s) => `${here}: ${s}`),
    `both directions stream again from where they stopped (nothing copied again); what ${peer} took meanwhile arrives`,
    `binary transfer only while both nodes run the same major`,
    'verify both nodes',
    ...(o.link ? [] : [`later: pgduplex pg-upgrade --finish removes the old cluster (after a backup)`]),
  ];
}
