import { readFile } from 'node:fs/promises';
import { PgduplexError } from '../../shared/errors.js';
import { replicationForeignAction } from '../../shared/protocol/foreign.js';
import { PGDUPLEX_OBJECT_LIKE, PUBLICATION } from '../../shared/replication.js';
import { containedPath } from '../files/contained.js';
import { parseHostAddress } from '../firewall/address.js';
import { foreignPortRules } from '../firewall/foreign-rules.js';
import { saveFilter } from '../firewall/iptables.js';
import { resolveCluster } from '../postgres/cluster.js';
import { connTarget, passwordlessConninfo } from '../postgres/conninfo.js';
import { fspbxHbaBlocks } from '../postgres/hba-foreign.js';
import { hbaServerState } from '../postgres/hba-rules.js';
import { queryJson } from '../postgres/psql.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

// The password is cut out of subconninfo inside PostgreSQL, so it never reaches the agent; connTarget then keeps
// only host, port and user of the rest.
const STRIP = passwordlessConninfo('s.subconninfo');

// `like` needs the prefix's underscores escaped; a table-sync slot is pg_<subscription oid>_sync_<relid>_<sysid>.
/** Replication objects in the database that are not pgduplex's, each in one row. */
export const FOREIGN_SQL = `select json_build_object(
  'publications', (select coalesce(json_agg(json_build_object('name', pubname, 'allTables', puballtables)
      order by pubname), '[]') from pg_publication where pubname <> :'publication'),
  'subscriptions', (select coalesce(json_agg(json_build_object('name', s.subname, 'oid', s.oid::bigint,
      'enabled', s.subenabled, 'slot', s.subslotname, 'publications', to_json(s.subpublications),
      'conninfo', ${STRIP})
      order by s.subname), '[]')
    from pg_subscription s where s.subdbid = (select oid from pg_database where datname = current_database())
      and s.subname not like :'prefix'),
  'slots', (select coalesce(json_agg(json_build_object('name', slot_name, 'plugin', plugin, 'active', active,
      'syncOf', (substring(slot_name from '^pg_([0-9]+)_sync_[0-9]+_[0-9]+$'))::bigint) order by slot_name), '[]')
    from pg_replication_slots where slot_type = 'logical' and database = current_database()
      and slot_name not like :'prefix'))`;

interface Row {
  publications: Array<{ name: string; allTables: boolean }>;
  subscriptions: Array<{
    name: string;
    oid: number;
    enabled: boolean;
    slot: string | null;
    publications: string[];
    conninfo: string;
  }>;
  slots: Array<{ name: string; plugin: string | null; active: boolean; syncOf: number | null }>;
}

const MAX_HBA_BYTES = 1024 * 1024;

/**
 * Lists replication in the pair's database that is not pgduplex's, with FS PBX's pg_hba block and
 * 5432 rule: reads only. A subscription's conninfo is read here and only its host, port and user leave.
 */
export const replicationForeignHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: replicationForeignAction,
    run: async ({ database, peer, port }) => {
      const cluster = await resolveCluster(s.postgresql);
      const opts = { timeoutMs: s.limits.toolTimeoutMs };
      const row = await queryJson<Row>(cluster, FOREIGN_SQL, {
        ...opts,
        database,
        vars: { publication: PUBLICATION, prefix: PGDUPLEX_OBJECT_LIKE },
      });
      const hbaFile = (await hbaServerState(cluster, opts)).hbaFile;
      const path = await containedPath(hbaFile, [cluster.configDir, cluster.dataDir], 'hba_file');
      const text = await readFile(path, 'utf8');
      if (Buffer.byteLength(text) > MAX_HBA_BYTES)
        throw new PgduplexError('PG_HBA_INVALID', `${path} is larger than ${MAX_HBA_BYTES} bytes`);
      const host = parseHostAddress(peer);
      return {
        publications: row.publications,
        subscriptions: row.subscriptions.map(({ conninfo, ...sub }) => ({ ...sub, ...connTarget(conninfo) })),
        slots: row.slots,
        hbaBlocks: fspbxHbaBlocks(text, path),
        firewall: foreignPortRules(await saveFilter(host.family, opts), host, port),
      };
    },
  });
