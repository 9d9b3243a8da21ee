import { STABLE_TEXT_SQL } from '../actions/table-checksums.js';

// Every script here works on one table named by the psql variables `schema` and `table`, and on keys passed
// as JSON in psql variables: no value is ever spliced into SQL text by us. A first query reads the primary key
// from the catalog and \gset's the SQL fragments the rest uses (identifiers quoted by format('%I')).

/** The local replication origin changes run under when they must not replicate (as status's remedy uses). */
export const LOCAL_ORIGIN = 'pgduplex_local';

const KEY_CASTS = (source: string) =>
  `coalesce(string_agg(format('(%s->>%s)::%s', ${source}, k.n - 1, k.ty), ', ' order by k.n), 'null')`;

/**
 * \gset's `fq` (the quoted table), `haskey`, `cols` (t.<key columns>), `texts` (their text forms), `xcasts`
 * (a JSON array `x` cast back to the key's types), `inscols` (columns an INSERT may name), and, for each
 * JSON variable in `bounds`, `<name>v` (that key cast to the key's types).
 */
export const keyPrelude = (bounds: readonly string[] = []): string => `${STABLE_TEXT_SQL}
with k as (
  select a.attname, format_type(a.atttypid, a.atttypmod) ty, k.n
  from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, n)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = format('%I.%I', :'schema', :'table')::regclass and i.indisprimary
)
select format('%I.%I', :'schema', :'table') fq, count(*) > 0 haskey,
  coalesce(string_agg(format('t.%I', k.attname), ', ' order by k.n), 'null') cols,
  coalesce(string_agg(format('t.%I::text', k.attname), ', ' order by k.n), 'null') texts,
  ${KEY_CASTS(`'x'`)} xcasts,
  ${bounds.map((b) => `${KEY_CASTS(`quote_literal(:'${b}') || '::json'`)} ${b}v,`).join('\n  ')}
  (select string_agg(format('%I', attname), ', ' order by attnum) from pg_attribute
    where attrelid = format('%I.%I', :'schema', :'table')::regclass and attnum > 0 and not attisdropped
      and attgenerated = '') inscols
from k \\gset`;

const NO_KEY = `\\else
select '{"noKey": true}';
\\endif`;

/** The rows whose keys are in the JSON array variable `keys`. */
const IN_KEYS = `(:cols) in (select :xcasts from json_array_elements(:'keys'::json) x)`;

/**
 * One key range of the table in one short transaction: count, checksum (as tables.checksum sums it), last key,
 * and with `withKeys` every key with its row's md5. Variables: schema, table, timeout, lim, and after / upto
 * when those bounds are given.
 */
export function sliceSql(o: { after: boolean; upTo: boolean; withKeys: boolean }): string {
  const where = [...(o.after ? ['(:cols) > (:afterv)'] : []), ...(o.upTo ? ['(:cols) <= (:uptov)'] : [])];
  const keys = o.withKeys
    ? `, 'keys', coalesce(jsonb_agg(jsonb_build_object('key', k, 'hash', h) order by n), '[]')`
    : '';
  return `${keyPrelude([...(o.after ? ['after'] : []), ...(o.upTo ? ['upto'] : [])])}
\\if :haskey
begin transaction isolation level repeatable read read only;
set local statement_timeout = :'timeout';
select jsonb_build_object('rows', count(*),
  'sum', coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0)::text,
  'last', (array_agg(k order by n desc))[1]${keys})
from (select jsonb_build_array(:texts) k, md5(t::text) h, row_number() over (order by :cols) n
  from :fq t ${where.length > 0 ? `where ${where.join(' and ')}` : ''} order by :cols limit :lim) q;
commit;
${NO_KEY}`;
}

/**
 * Deletes the rows in `keys` and inserts them again, unchanged, in one transaction: replication then carries each
 * whole row (an UPDATE would leave out unchanged TOASTed values) and inserts it where it was missing. Triggers and
 * foreign-key actions do not fire (session_replication_role = replica), so nothing else is touched. Prints the
 * number of rows rewritten. Variables: schema, table, timeout, keys.
 */
export const PUSH_SQL = `${keyPrelude()}
\\if :haskey
begin;
set local session_replication_role = replica;
set local statement_timeout = :'timeout';
create temp table pgduplex_rows on commit drop as select * from :fq t where ${IN_KEYS};
delete from :fq t where ${IN_KEYS};
insert into :fq (:inscols) overriding system value select :inscols from pgduplex_rows;
select count(*) from pgduplex_rows;
commit;
${NO_KEY}`;

/**
 * Reads, in one snapshot, each row in `keys` as [key, md5] (one JSON line), then the same rows in COPY text
 * format (the columns an INSERT may name, as `inscols` lists them): what rows-take backs up. Variables: schema,
 * table, timeout, keys.
 */
export const BACKUP_SQL = `${keyPrelude()}
\\if :haskey
begin transaction isolation level repeatable read read only;
set local statement_timeout = :'timeout';
select jsonb_build_object('columns', (select jsonb_agg(attname order by attnum) from pg_attribute
    where attrelid = :'fq'::regclass and attnum > 0 and not attisdropped and attgenerated = ''),
  'rows', coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(:texts), md5(t::text))), '[]'))
  from :fq t where ${IN_KEYS};
copy (select :inscols from :fq t where ${IN_KEYS}) to stdout;
commit;
${NO_KEY}`;

const ORIGIN_SESSION = `select count(pg_replication_origin_create('${LOCAL_ORIGIN}')) created
  from (select where not exists (select from pg_replication_origin where roname = '${LOCAL_ORIGIN}')) o \\gset
begin;
set local session_replication_role = replica;
set local statement_timeout = :'timeout';
select pg_replication_origin_session_setup('${LOCAL_ORIGIN}') \\gset`;

/**
 * Deletes the rows in `keys` whose md5 is still the one in `hashes` (same order), under the local replication
 * origin so the peer's subscription (origin = none) does not receive the deletes; commits only when every one was
 * found, and echoes t or f. Variables: schema, table, timeout, keys, hashes, n.
 */
export const REMOVE_SQL = `${keyPrelude()}
${ORIGIN_SESSION}
with d as (delete from :fq t where (:cols, md5(t::text)) in (select :xcasts, h
  from json_array_elements(:'keys'::json) with ordinality e(x, i)
  join json_array_elements_text(:'hashes'::json) with ordinality y(h, j) on i = j) returning 1)
select count(*) = :n ok from d \\gset
\\if :ok
commit;
\\else
rollback;
\\endif
\\echo :ok`;

/**
 * Undo of rows-take: under the local origin (nothing flows to the peer), deletes the rows in `keys` and loads the
 * backup (COPY text, appended by the caller after this script, then `\\.` and `commit;`) into `columns`.
 */
export const RESTORE_SQL = `${keyPrelude()}
select string_agg(format('%I', c), ', ') restorecols from json_array_elements_text(:'columns'::json) c \\gset
${ORIGIN_SESSION}
delete from :fq t where ${IN_KEYS};
copy :fq (:restorecols) from stdin;`;

/** The columns an INSERT may name (not generated, not dropped), as one JSON array. Variables: schema, table. */
export const COLUMNS_SQL = `select coalesce(jsonb_agg(attname order by attnum), '[]') from pg_attribute
  where attrelid = format('%I.%I', :'schema', :'table')::regclass and attnum > 0 and not attisdropped
    and attgenerated = ''`;

/** How many of the rows in `keys` exist. Variables: schema, table, keys. */
export const COUNT_SQL = `${keyPrelude()}
\\if :haskey
select jsonb_build_object('rows', count(*)) from :fq t where ${IN_KEYS};
${NO_KEY}`;
