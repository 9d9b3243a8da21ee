import { conflictCounters } from './catalog-columns.js';
import { keyPrelude } from './rows-sql.js';

/**
 * This database's subscriptions with their conflict counters and `stats_reset` (pg_stat_subscription_stats),
 * on PostgreSQL 18 and later; null before, which counts no conflicts.
 */
export function conflictCountersSql(versionNum: number): string | null {
  const counters = conflictCounters(versionNum);
  if (counters.length === 0) return null;
  const fields = counters.map((k) => `'${k}', coalesce(st.confl_${k}, 0)`).join(', ');
  return `select coalesce(json_agg(json_build_object('name', s.subname, 'origin', 'pg_' || s.oid,
  'statsReset', st.stats_reset, 'counters', json_build_object(${fields})) order by s.subname), '[]')
from pg_subscription s left join pg_stat_subscription_stats st on st.subid = s.oid
where s.subdbid = (select oid from pg_database where datname = current_database())`;
}

/**
 * The rows whose keys are in the JSON variable `keys`: each key with its row's md5 (as tables.slice hashes it) and
 * its commit time where track_commit_timestamp keeps it, in one short read-only transaction; with the key columns.
 */
export const ROWS_BY_KEY_SQL = `${keyPrelude()}
\\if :haskey
begin transaction isolation level repeatable read read only;
set local statement_timeout = '10s';
select json_build_object('columns', :'cols', 'rows', coalesce(json_agg(json_build_object(
  'key', jsonb_build_array(:texts), 'hash', md5(t::text),
  'committedAt', case when current_setting('track_commit_timestamp')::bool then pg_xact_commit_timestamp(t.xmin) end
)), '[]'))
from :fq t where (:cols) in (select :xcasts from json_array_elements(:'keys'::json) x);
commit;
\\else
select '{"noKey": true}';
\\endif`;

/** `t."A b", t.c` (the prelude's key columns) as plain names. */
export const keyColumnNames = (cols: string): string[] =>
  cols.split(/, (?=t\.)/).map((c) => {
    const n = c.replace(/^t\./, '');
    return n.startsWith('"') ? n.slice(1, -1).replace(/""/g, '"') : n;
  });
