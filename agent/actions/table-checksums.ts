import { tablesChecksumAction } from '../../shared/protocol/data.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

// Each row's text is hashed and the 64-bit prefixes are summed: order-independent, so no sort and no
// memory that grows with the table. Session settings pin the text form so both nodes agree.
/** Session settings that pin every value's text form, so a row hashes the same on both nodes. */
export const STABLE_TEXT_SQL =
  "set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set intervalstyle = 'iso_8601'; " +
  "set extra_float_digits = 3; set bytea_output = 'hex';";
/** Exported so the setup benchmark's floor runs the very same verify query (psql variable `schema`). */
export const CHECKSUM_SQL = `${STABLE_TEXT_SQL}
select coalesce(json_agg(json_build_object('table', fq, 'rows', c, 'sum', h) order by fq), '[]') from (
  select t.fq, (xpath('/row/c/text()', x))[1]::text::bigint as c,
    coalesce((xpath('/row/h/text()', x))[1]::text, '0') as h
  from (select format('%I.%I', n.nspname, c.relname) fq from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname = :'schema') t,
  lateral query_to_xml(
    format('select count(*) as c, sum((''x'' || substr(md5(t::text), 1, 16))::bit(64)::bigint) as h from %s t', t.fq),
    false, true, '') x
) q`;

/** `table-checksums`: row count and a content checksum per table, computed inside PostgreSQL. */
export const tableChecksumsHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: tablesChecksumAction,
    run: async ({ database, schema }) =>
      queryJson(await resolveCluster(s.postgresql), CHECKSUM_SQL, {
        timeoutMs: s.limits.toolTimeoutMs * 20,
        database,
        vars: { schema },
      }),
  });
