import { agentOk } from '../lab/agent-rpc.js';
import { NODE_NAMES, type NodeName } from '../lab/constants.js';
import { nodeExec } from '../lab/exec.js';
import { nodeSql } from '../lab/sql.js';
import { undoEverything } from '../lab/undo-all.js';
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
  const count = async (argv: string[]) => Number((await nodeExec(node, ['bash', '-c', `${argv.join(' ')} | wc -l`])).stdout.trim());
  return {
    settings: settings ?? '',
    replication: replication ?? '',
    pgHbaLines: await count(['grep', 'pgduplex', '/etc/postgresql/*/main/pg_hba.conf']),
    firewall5432: await count(['iptables', '-S', 'PGDUPLEX', '|', 'grep', '--', '--dport\\ 5432']),
    pendingJournal: (await agentOk<Array<{ undone: boolean }>>(node, 'journal.list')).filter((e) => !e.undone).length,
    tables: await checksums(node),
  };
}

/** Both nodes' state. */
export async function pairState(): Promise<Record<NodeName, NodeState>> {
  const [a, b] = await Promise.all(NODE_NAMES.map(nodeState));
  return { a: a!, b: b! };
}

/**
 * Puts both nodes back as they were before setup: every journaled change undone (including the imported
 * schema and the backup, which `pgduplex teardown` keeps as data), b's own rows back, its backups removed.
 * Teardown itself is proven against the same pre-setup snapshots in test/coordinator/teardown*.lab.test.ts.
 */
export async function restorePair(): Promise<void> {
  await undoEverything();
  await resetPeer();
  await nodeExec('b', ['bash', '-c', 'rm -rf --one-file-system /var/backups/pgduplex/*-fusionpbx']);
}
