import { agentOk } from '../lab/agent-rpc.js';
import { NODE_NAMES, type NodeName } from '../lab/constants.js';
import { nodeExec } from '../lab/exec.js';
import { nodeSql } from '../lab/sql.js';
import { countsAsPending, undoEverything } from '../lab/undo-all.js';
import { checksums, resetPeer, type Checksum } from './fixture.js';

/** What setup changes on a node, read from the real system: equal before setup and after restorePair. */
export interface NodeState {
  settings: string;
  replication: string;
  pgHbaLines: number;
  firewall5432: number;
  pendingJournal: number;
  tables: Checksum[];
}

const STATE_SQL = `select concat_ws(' ', current_setting('wal_level'), current_setting('track_commit_timestamp'), current_setting('max_slot_wal_keep_size'));
select concat_ws(' ', 'subscriptions', (select count(*) from pg_subscription), 'publications', (select count(*) from pg_publication),
  'slots', (select count(*) from pg_replication_slots), 'roles', (select count(*) from pg_roles where rolname like 'pgduplex%'),
  'scratch-dbs', (select count(*) from pg_database where datname like 'pgduplex_restore_%'));`;

/** A node's setup-relevant state. */
export async function nodeState(node: NodeName): Promise<NodeState> {
  const [settings, replication] = (await nodeSql(node, STATE_SQL)).split('\n');
  const count = async (argv: string[]) =>
    Number((await nodeExec(node, ['bash', '-c', `${argv.join(' ')} | wc -l`])).stdout.trim());
  return {
    settings: settings ?? '',
    replication: replication ?? '',
    pgHbaLines: await count(['grep', 'pgduplex', '/etc/postgresql/*/main/pg_hba.conf']),
    firewall5432: await count(['iptables', '-S', 'PGDUPLEX', '|', 'grep', '--', '--dport\\ 5432']),
    pendingJournal: (await agentOk<Array<{ action: string; undone: boolean }>>(node, 'journal.list')).filter(
      countsAsPending,
    ).length,
    tables: await checksums(node),
  };
}

/** Both nodes' state. */
export async function pairState(): Promise<Record<NodeName, NodeState>> {
  const [a, b] = await Promise.all(NODE_NAMES.map(nodeState));
  return { a: a!, b: b! };
}

/** The parts of a node's state that `pgduplex teardown` must bring back by itself; the rest is data it keeps. */
const TEARDOWN_PARTS = ['settings', 'replication', 'pgHbaLines', 'firewall5432'] as const;

/**
 * Puts both nodes back as they were before setup. First `pgduplex teardown --yes` on a, which must end
 * with exit 0 and, given `before`, leave settings, replication objects, pg_hba and firewall as they were;
 * what it keeps on purpose as data (the imported schema, the backup) is then undone from the journals,
 * b's own rows put back and its backups removed. Returns what teardown got wrong; a failed teardown
 * still ends with everything undone, so the next case starts clean.
 */
export async function restorePair(before?: Record<NodeName, NodeState>): Promise<string[]> {
  const problems: string[] = [];
  const t = await nodeExec('a', ['pgduplex', 'teardown', '--yes'], { reject: false, timeoutMs: 600_000 });
  if (t.exitCode !== 0)
    problems.push(
      `teardown: exit ${t.exitCode}: ${(t.stderr.trim() || t.stdout.trim()).split('\n').slice(0, 2).join(' / ')}`,
    );
  else if (before) {
    const now = await pairState();
    for (const node of NODE_NAMES) {
      for (const k of TEARDOWN_PARTS)
        if (now[node][k] !== before[node][k])
          problems.push(
            `teardown left ${k} on ${node} at ${JSON.stringify(now[node][k])}, was ${JSON.stringify(before[node][k])}`,
          );
    }
  }
  problems.push(...(await undoEverything()));
  await resetPeer();
  await nodeExec('b', [
    'bash',
    '-c',
    'rm -rf --one-file-system /var/backups/pgduplex/*-fusionpbx /var/backups/pgduplex/.partial-*',
  ]);
  return problems;
}
