import { schemaDigestAction } from '../../shared/protocol/data.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

// One line per table: its columns in order with type and nullability, its primary key and replica identity.
const DIGEST_SQL = `select coalesce(json_object_agg(t.fq, t.shape), '{}') from (
  select format('%s.%s', n.nspname, c.relname) fq, concat_ws('; ',
    (select string_agg(format('%s %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
         case when a.attnotnull then ' not null' else '' end), ', ' order by a.attnum)
       from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
    (select 'primary key (' || string_agg(a.attname, ', ' order by k.n) || ')'
       from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, n)
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
       where i.indrelid = c.oid and i.indisprimary),
    'replica identity ' || c.relreplident::text) shape
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p') and n.nspname = :'schema' and not c.relispartition) t`;

/** `schema-digest`: each table's shape in one comparable line, so verify can name schema differences. */
export const schemaDigestHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: schemaDigestAction,
    run: async ({ database, schema }) =>
      queryJson(await resolveCluster(s.postgresql), DIGEST_SQL, {
        timeoutMs: s.limits.toolTimeoutMs * 4,
        database,
        vars: { schema },
      }),
  });
