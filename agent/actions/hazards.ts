import { hazardsAction } from '../../shared/protocol/facts.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { IMPORT_ROLE } from '../postgres/import-role.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

// Replica identity: 'd' default (needs a primary key), 'i' an index, 'f' full, 'n' nothing.
const HAZARDS_SQL = `select json_build_object(
  'noReplicaIdentity', (select coalesce(json_agg(json_build_object('table', format('%s.%s', n.nspname, c.relname),
        'identity', c.relreplident,
        'updates', coalesce(st.n_tup_upd, 0) + coalesce(st.n_tup_del, 0)) order by n.nspname, c.relname), '[]')
      from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_stat_user_tables st on st.relid = c.oid
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg_toast%'
        and (c.relreplident = 'n' or (c.relreplident = 'd'
          and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary)))),
  'fullIdentity', (select coalesce(json_agg(format('%s.%s', n.nspname, c.relname) order by n.nspname, c.relname), '[]')
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and c.relreplident = 'f' and n.nspname not in ('pg_catalog', 'information_schema')),
  'sequenceKeys', (select coalesce(json_agg(json_build_object('sequence', format('%s.%s', s.schemaname, s.sequencename),
        'increment', s.increment_by) order by s.schemaname, s.sequencename), '[]')
      from pg_sequences s where s.schemaname not in ('pg_catalog', 'information_schema')),
  'unlogged', (select coalesce(json_agg(format('%s.%s', n.nspname, c.relname) order by n.nspname, c.relname), '[]')
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and c.relpersistence = 'u'),
  'largeObjects', (select count(*) from pg_largeobject_metadata),
  'databaseBytes', pg_database_size(current_database()),
  'typesWithoutBinary', (select coalesce(json_agg(distinct format_type(t.oid, null)
        order by format_type(t.oid, null)), '[]')
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace join pg_type t on t.oid = a.atttypid
      where c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
        and (t.typsend = 0 or t.typreceive = 0)),
  'tableBytes', (select coalesce(sum(pg_table_size(c.oid)), 0)::bigint
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and c.relpersistence = 'p' and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg_toast%'),
  'tables', (select coalesce(json_agg(format('%s.%s', n.nspname, c.relname) order by n.nspname, c.relname), '[]')
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg_toast%' and not c.relispartition),
  'unfinishedImport', exists (select from pg_roles where rolname = '${IMPORT_ROLE}'),
  'extensions', (select coalesce(json_agg(json_build_object('name', e.extname, 'schema', en.nspname,
        'version', e.extversion) order by e.extname), '[]')
      from pg_extension e join pg_namespace en on en.oid = e.extnamespace
      where e.extname <> 'plpgsql' and (en.nspname not in ('pg_catalog', 'information_schema')
        or exists (select 1 from pg_depend m
        join pg_depend d on d.refclassid = m.classid and d.refobjid = m.objid and d.deptype = 'n'
        where m.refclassid = 'pg_extension'::regclass and m.refobjid = e.oid and m.deptype = 'e'))))`;

/** Reads the replication hazards of one database: nothing is changed, each is named with its table. */
export const hazardsHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: hazardsAction,
    run: async ({ database }) =>
      queryJson(await resolveCluster(s.postgresql), HAZARDS_SQL, { timeoutMs: s.limits.toolTimeoutMs * 4, database }),
  });
