import type { NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { nodeSql, postmasterStart } from './sql.js';

/** Everything setup may touch on a node and teardown must put back (start time apart: it says whether PostgreSQL restarted). */
export interface NodeSnapshot {
  /** sha256 and path of every file under the cluster's config dir, and of postgres's own passfile. */
  files: string;
  /** iptables-save / ip6tables-save without comments, counters and the pairing's agent-port rules. */
  iptables: string;
  ip6tables: string;
  /** pgduplex's catalog objects and the settings it manages. */
  catalogs: string;
  /** Increment of every sequence, by name. */
  sequences: Record<string, number>;
}

const FILES = `find /etc/postgresql/17/main -type f -print0 | sort -z | xargs -0 sha256sum; test -e /var/lib/postgresql/.pgpass && sha256sum /var/lib/postgresql/.pgpass; true`;
const RULES = (tool: string) =>
  `${tool}-save | grep -v '^#' | sed -E 's/ \\[[0-9]+:[0-9]+\\]$//' | grep -v -- '--dport 7740'`;
const CATALOGS = `select 'subscriptions: ' || coalesce(string_agg(subname, ',' order by subname), '') from pg_subscription;
select 'publications: ' || coalesce(string_agg(pubname, ',' order by pubname), '') from pg_publication;
select 'slots: ' || coalesce(string_agg(slot_name, ',' order by slot_name), '') from pg_replication_slots;
select 'origins: ' || coalesce(string_agg(roname, ',' order by roname), '') from pg_replication_origin;
select 'roles: ' || coalesce(string_agg(rolname, ',' order by rolname), '') from pg_roles where rolname like 'pgduplex%';
select 'settings: ' || string_agg(name || '=' || setting, ',' order by name) from pg_settings where name in ('wal_level', 'track_commit_timestamp', 'max_slot_wal_keep_size') or pending_restart;`;

/** Runs SQL in the fusionpbx database as postgres; the output is psql's unaligned tuples. */
export const labSql = (node: NodeName, text: string): Promise<string> => nodeSql(node, text);

/** When PostgreSQL last started: a change means it restarted. */
export const pgStartedAt = postmasterStart;

/** Takes the snapshot teardown is judged against. */
export async function nodeSnapshot(node: NodeName): Promise<NodeSnapshot> {
  const sh = async (script: string) => (await nodeExec(node, ['bash', '-o', 'pipefail', '-c', script])).stdout;
  const [files, iptables, ip6tables, catalogs, seqs] = await Promise.all([
    sh(FILES),
    sh(RULES('iptables')),
    sh(RULES('ip6tables')),
    labSql(node, CATALOGS),
    labSql(
      node,
      `select coalesce(json_object_agg(schemaname || '.' || sequencename, increment_by), '{}') from pg_sequences`,
    ),
  ]);
  return { files, iptables, ip6tables, catalogs, sequences: JSON.parse(seqs) as Record<string, number> };
}
