import { PgduplexError } from '../../shared/errors.js';
import { schemaDigestAction } from '../../shared/protocol/data.js';
import { replicationForeignAction } from '../../shared/protocol/foreign.js';
import { replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import { PGDUPLEX_OBJECT_PREFIX } from '../../shared/replication.js';
import { readAdoption, type Adoption, type AdoptNode } from './adopt.js';
import type { Agents } from './agents.js';
import type { Report } from './runner.js';
import { drained, settledDifferences, type PairSlots } from './settled.js';
import { subscriptionName, type PairFacts } from './steps.js';

type Nodes = readonly [PairFacts['source'], PairFacts['source']];

/** Both nodes' replication as the handover needs it: the foreign objects and pgduplex's own subscriptions. */
async function adoptNodes(
  agents: Agents,
  f: PairFacts,
): Promise<{ views: [AdoptNode, AdoptNode]; streaming: string[] }> {
  const nodes: Nodes = [f.source, f.target];
  const read = (n: PairFacts['source'], i: number) =>
    Promise.all([
      agents.call(n.side, replicationForeignAction, {
        database: f.database,
        peer: nodes[1 - i]!.address,
        port: f.pgPort,
      }),
      agents.call(n.side, replicationStatusAction, { database: f.database }),
    ]);
  const [[fa, sa], [fb, sb]] = await Promise.all([read(nodes[0], 0), read(nodes[1], 1)]);
  const streaming: string[] = [];
  const view = (ref: PairFacts['source'], foreign: typeof fa, st: typeof sa): AdoptNode => {
    const subs = st.subscriptions.filter((s) => s.database === f.database);
    for (const s of subs) if (s.enabled && s.workerPid !== null) streaming.push(`${ref.node}/${s.name}`);
    for (const s of st.slots) if (s.active) streaming.push(`${ref.node}/slot/${s.name}`);
    return {
      ref,
      foreign,
      pgduplexSubs: new Map(
        subs.filter((s) => s.name.startsWith(PGDUPLEX_OBJECT_PREFIX)).map((s) => [s.name, s.enabled]),
      ),
      slots: st.slots.map((s) => s.name),
    };
  };
  return { views: [view(f.source, fa, sa), view(f.target, fb, sb)], streaming };
}

/** The slots the script's two subscriptions read: on the source (the target's) and on the target. */
export const scriptSlots = (a: Adoption): PairSlots => ({
  onSource: a.directions[0].old?.slot ?? '',
  onTarget: a.directions[1].old?.slot ?? '',
});

/**
 * setup --adopt's preflight: the script's replication in the shape it makes (or a handover an earlier run began),
 * and for a fresh handover both its subscriptions streaming, the lag drained and the two databases equal, rows in
 * flight awaited. Undefined when nothing of the script's is left and pgduplex replicates both ways (a re-run).
 */
export async function adoptPreflight(agents: Agents, f: PairFacts, report: Report): Promise<Adoption | undefined> {
  const { views, streaming } = await adoptNodes(agents, f);
  const adoption = readAdoption(views[0], views[1], f.database);
  const both = `${f.source.node}+${f.target.node}`;
  if (!adoption) {
    const ours =
      views[0].pgduplexSubs.has(subscriptionName(f.target.node)) &&
      views[1].pgduplexSubs.has(subscriptionName(f.source.node));
    if (!ours)
      throw new PgduplexError('BAD_PARAMS', `there is no replication in ${f.database} to take over`, {
        hint: 'nothing was changed; set the pair up with pgduplex setup (without --adopt)',
      });
    report('ok', both, "adopt: nothing of the script's replication is left; pgduplex's replicates both ways");
    return undefined;
  }
  for (const d of adoption.directions) {
    const what = d.handedOver
      ? `${d.to.node} applies ${d.from.node}'s changes through pgduplex's subscription`
      : `${d.to.node} applies ${d.from.node}'s changes through the script's ${d.old?.subscription}`;
    report('ok', d.to.node, `adopt: ${what}`);
  }
  if (adoption.begun) {
    report('note', both, 'adopt: resuming the handover an earlier run began (its compare passed then)');
    return adoption;
  }
  for (const d of adoption.directions) {
    const old = d.old!;
    const sub = streaming.includes(`${d.to.node}/${old.subscription}`);
    const slot = streaming.includes(`${d.from.node}/slot/${old.slot}`);
    if (!sub || !slot)
      throw new PgduplexError(
        'REPLICATION_BROKEN',
        `the script's subscription ${old.subscription} on ${d.to.node} does not stream ` +
          `(${!sub ? 'no apply worker' : `slot ${old.slot} on ${d.from.node} not in use`})`,
        {
          hint:
            "nothing was changed; a handover starts only from replication that works: fix the script's (see " +
            'the PostgreSQL log on both nodes), then re-run',
        },
      );
  }
  await refuseDifferent(agents, f, adoption, report);
  return adoption;
}

/** The full compare before the handover: tables, rows and schema equal once the lag has drained. */
async function refuseDifferent(agents: Agents, f: PairFacts, adoption: Adoption, report: Report): Promise<void> {
  const both = `${f.source.node}+${f.target.node}`;
  report('...', both, 'adopt: waiting until each node has the changes the other made, then comparing every table');
  const slots = scriptSlots(adoption);
  await drained(agents, f, slots);
  const [settled, digests] = await Promise.all([
    settledDifferences(agents, f, slots, []),
    Promise.all([f.source, f.target].map((n) => agents.call(n.side, schemaDigestAction, { database: f.database }))),
  ]);
  const [da, db] = digests as [Record<string, string>, Record<string, string>];
  const shapes = [...new Set([...Object.keys(da), ...Object.keys(db)])].filter((t) => da[t] !== db[t]).sort();
  const rows = settled.differences.map((d) => {
    const keys = d.sampleKeys?.map((k) => `${k.key} (${k.how})`).join(', ');
    return (
      `${d.table}: ${d.source?.rows ?? 'missing'} rows on ${f.source.node}, ${d.target?.rows ?? 'missing'} on ` +
      `${f.target.node}${keys ? `; e.g. ${keys}` : ''}`
    );
  });
  const all = [...rows, ...shapes.map((t) => `schema of ${t} differs`)];
  if (all.length > 0)
    throw new PgduplexError('PAIR_DIFFERS', `the two nodes' ${f.database} differ: ${all.slice(0, 10).join('; ')}`, {
      hint:
        'nothing was changed. A handover keeps both nodes as they are, so they must be equal first: repair ' +
        "the rows named (the script's replication does not), or set the pair up without --adopt, which copies " +
        `${f.source.node}'s data to ${f.target.node} after a backup (--yes --replace-peer-data)`,
    });
  report('ok', both, `adopt: ${settled.tables} tables identical on both nodes (rows in flight awaited), same schema`);
}

/** What FS PBX's script sets in postgresql.conf itself (by sed), as pg_settings shows it now. */
const SCRIPT_SETTINGS = [
  'listen_addresses',
  'wal_level',
  'track_commit_timestamp',
  'max_wal_senders',
  'max_replication_slots',
  'max_worker_processes',
] as const;

/**
 * Reports the settings the script edits in postgresql.conf where a configuration file sets them: pgduplex leaves that
 * file alone and keeps what the pair needs (wal_level, track_commit_timestamp) in its own drop-in.
 */
export function reportScriptSettings(
  nodes: ReadonlyArray<{ node: string; settings: Record<string, { value: string; source: string }> }>,
  report: Report,
): void {
  for (const n of nodes) {
    const set = SCRIPT_SETTINGS.filter((k) => n.settings[k]?.source === 'configuration file').map(
      (k) => `${k} = ${n.settings[k]!.value}`,
    );
    if (set.length === 0) continue;
    report(
      'note',
      n.node,
      `adopt: set in PostgreSQL's configuration files (FS PBX's script edits postgresql.conf): ${set.join(', ')}; ` +
        "pgduplex leaves them there, and keeps what the pair needs in its own drop-in, so postgresql.conf's may go",
    );
  }
}
