import { PgduplexError } from '../../shared/errors.js';
import { replicationForeignAction, type ForeignReplication } from '../../shared/protocol/foreign.js';
import type { Agents } from './agents.js';
import type { Report } from './runner.js';
import type { PairFacts } from './steps.js';

/** One node's replication objects that pgduplex did not make, each in words for the operator. */
export interface ForeignOnNode {
  node: string;
  objects: string[];
}

const lines = (b: { begin: number; end: number | null }) =>
  b.end === null ? `from line ${b.begin} to the end, no footer` : `lines ${b.begin}-${b.end}`;

/**
 * What of one node's replication.foreign answer is not pgduplex's, in words: a table-sync slot counts only
 * when it belongs to a foreign subscription on the other node (pgduplex's own initial copy makes such slots,
 * and one no subscription uses is setup's to clean up), named with that subscription.
 */
export function describeForeign(own: ForeignReplication, other: ForeignReplication): string[] {
  const otherSubs = new Map(other.subscriptions.map((s) => [s.oid, s.name]));
  const target = (s: ForeignReplication['subscriptions'][number]) =>
    [
      s.host === null ? undefined : `host=${s.host}`,
      s.port === null ? undefined : `port=${s.port}`,
      s.user === null ? undefined : `user=${s.user}`,
    ]
      .filter((x) => x !== undefined)
      .join(' ');
  return [
    ...own.publications.map((p) => `publication ${p.name}${p.allTables ? ' (FOR ALL TABLES)' : ''}`),
    ...own.subscriptions.map(
      (s) =>
        `subscription ${s.name} (${s.enabled ? 'enabled' : 'disabled'}, publication ${s.publications.join(', ')}` +
        `${target(s) === '' ? '' : `, connecting ${target(s)}`})`,
    ),
    ...own.slots.flatMap((s) => {
      if (s.syncOf === null) return [`logical replication slot ${s.name} (${s.active ? 'active' : 'inactive'})`];
      const sub = otherSubs.get(s.syncOf);
      return sub === undefined ? [] : [`logical replication slot ${s.name} (the table copy of ${sub})`];
    }),
    ...own.hbaBlocks.map(
      (b) => `pg_hba.conf block "# >>> fspbx logical replication (${b.peer}) >>>" (${b.file}, ${lines(b)})`,
    ),
    ...own.firewall.map((r) => `${r.family === 4 ? 'iptables' : 'ip6tables'} INPUT rule ${r.position}: ${r.rule}`),
  ];
}

/** The refusal for replication pgduplex did not make, naming every object per node; undefined when there is none. */
export function foreignRefusal(found: readonly ForeignOnNode[], database: string): PgduplexError | undefined {
  const on = found.filter((n) => n.objects.length > 0);
  if (on.length === 0) return undefined;
  const listed = on.map((n) => `on ${n.node}: ${n.objects.join('; ')}`).join('; ');
  return new PgduplexError(
    'FOREIGN_REPLICATION',
    `${database} is already replicated by something other than pgduplex (FS PBX's ` +
      `install/setup_logical_replication.sh makes these): ${listed}`,
    {
      hint:
        'nothing was changed. pgduplex will not stack its own replication on these: every change would be ' +
        'applied twice (duplicate-key errors at once). To hand the pair over to pgduplex without copying the ' +
        'data again: pgduplex setup --adopt (--dry-run first shows every step); or remove them on both nodes',
    },
  );
}

/** Asks both nodes what replication they hold that pgduplex did not make, and refuses setup when there is any. */
export async function refuseForeign(agents: Agents, f: PairFacts, report: Report): Promise<void> {
  const nodes = [f.source, f.target];
  const answers = await Promise.all(
    nodes.map((n) => {
      const other = n === f.source ? f.target : f.source;
      return agents.call(n.side, replicationForeignAction, {
        database: f.database,
        peer: other.address,
        port: f.pgPort,
      });
    }),
  );
  const found = nodes.map((n, i) => ({
    node: n.node,
    objects: describeForeign(answers[i]!, answers[1 - i]!),
  }));
  const refusal = foreignRefusal(found, f.database);
  if (refusal) throw refusal;
  for (const n of nodes) report('ok', n.node, `preflight: no replication in ${f.database} that pgduplex did not make`);
}
