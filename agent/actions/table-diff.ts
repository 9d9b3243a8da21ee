import { tablesDiffAction } from '../../shared/protocol/data.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';
import { STABLE_TEXT_SQL } from './table-checksums.js';

// A row's key is its primary key (the whole row when it has none); rows fall into buckets by a hash of
// the key, so two nodes can narrow a difference down bucket by bucket and then list only a few keys.
const KEY_SQL = `select coalesce('row(' || string_agg(format('t.%I', a.attname), ', ' order by k.n) || ')', 't')
  from pg_index i
  cross join lateral unnest(i.indkey) with ordinality k(attnum, n)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = format('%I.%I', :'schema', :'table')::regclass and i.indisprimary`;
const bucketOf = (modulus: number) =>
  `mod(('x' || substr(md5(%1$s::text), 1, 8))::bit(32)::int::bigint + 2147483648, ${modulus})`;

const BUCKETS_SQL = (modulus: number) =>
  `${STABLE_TEXT_SQL}
select format($q$select coalesce(json_agg(json_build_object('bucket', b, 'rows', c, 'sum', h) order by b), '[]') from (
  select ${bucketOf(modulus)} b, count(*) c, ` +
  // (split in the source only: the dollar-quoted body keeps its one line)
  `sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint)::text h from %2$s t group by 1) q$q$,
  (${KEY_SQL}), format('%I.%I', :'schema', :'table')) \\gexec`;

const KEYS_SQL = (modulus: number, limit: number) =>
  `${STABLE_TEXT_SQL}
select format($q$select coalesce(json_agg(json_build_object('key', k, 'hash', h)), '[]') from (
  select %1$s::text k, md5(t::text) h from %2$s t where ${bucketOf(modulus)} = any(%3$L::int[]) ` +
  // (split in the source only: the dollar-quoted body keeps its one line)
  `order by %1$s::text collate "C" limit ${limit}) q$q$,
  (${KEY_SQL}), format('%I.%I', :'schema', :'table'), :'buckets') \\gexec`;

/**
 * `table-diff`: per-bucket checksums of one table, or the keys in chosen buckets: how verify finds which rows
 * differ.
 */
export const tableDiffHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: tablesDiffAction,
    run: async (p) => {
      const sql = p.buckets ? KEYS_SQL(p.modulus, p.limit) : BUCKETS_SQL(p.modulus);
      const vars = { schema: p.schema, table: p.table, ...(p.buckets ? { buckets: `{${p.buckets.join(',')}}` } : {}) };
      return queryJson(await resolveCluster(s.postgresql), sql, {
        timeoutMs: s.limits.toolTimeoutMs * 20,
        database: p.database,
        vars,
      });
    },
  });
