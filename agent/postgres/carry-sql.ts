// The SQL a schema carry runs as the superuser around the peer's DDL: lending the operator's tables to the import
// role and back, the hold trigger, and the undo. Every statement is assembled by the server with format(%I) from
// psql variables (JSON lists), never spliced by us.
import { HOLD_NAME } from './schema-model-sql.js';
import { IMPORT_ROLE } from './import-role.js';

const LIST = (v: string) => `json_array_elements_text(:'${v}'::json)`;

const LENT_TABLES = `pg_class c where c.relnamespace = :'schema'::regnamespace
  and c.relname in (select * from ${LIST('tables')})`;

/**
 * The owners of the tables a carry lends, by qualified name, and what the carried DDL may not take from them (to
 * compare after): their grants, columns, triggers' states and replica identity.
 */
export const LEND_STATE_SQL = `set search_path = pg_catalog;
select json_build_object(
  'missing', (select coalesce(json_agg(t), '[]') from ${LIST('tables')} t
    where to_regclass(format('%I.%I', :'schema', t)) is null),
  'owners', (select coalesce(json_object_agg(format('%I.%I', :'schema', c.relname), c.relowner::regrole::text),
      '{}') from ${LENT_TABLES}),
  'acl', (select coalesce(json_object_agg(c.relname, concat(c.relacl::text, '|', (select string_agg(a.attname || '=' ||
      a.attacl::text, ',' order by a.attnum) from pg_attribute a where a.attrelid = c.oid and a.attacl is not null))),
      '{}') from ${LENT_TABLES}),
  'kept', (select coalesce(json_object_agg(c.relname, json_build_object(
      'columns', (select coalesce(json_agg(a.attname order by a.attname), '[]') from pg_attribute a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
      'triggers', (select coalesce(string_agg(g.tgname || '=' || g.tgenabled::text, ',' order by g.tgname), '')
        from pg_trigger g where g.tgrelid = c.oid and not g.tgisinternal),
      'identity', c.relreplident::text)), '{}') from ${LENT_TABLES}))`;

/** Which of the objects a carry creates exist already (a re-run, or someone else's). */
export const CREATES_PRESENT_SQL = `set search_path = pg_catalog;
select coalesce(json_agg(o), '[]') from (
  select 'table ' || t as o from ${LIST('tables')} t where to_regclass(format('%I.%I', :'schema', t)) is not null
  union all select 'sequence ' || t from ${LIST('sequences')} t
    where to_regclass(format('%I.%I', :'schema', t)) is not null
  union all select 'index ' || t from ${LIST('indexes')} t where to_regclass(format('%I.%I', :'schema', t)) is not null
  union all select format('column %s.%s', x->>'table', x->>'column') from json_array_elements(:'columns'::json) x
    where exists (select from pg_attribute a where a.attrelid = to_regclass(format('%I.%I', :'schema', x->>'table'))
      and a.attname = x->>'column' and not a.attisdropped)
  union all select format('constraint %s on %s', x->>'name', x->>'table')
    from json_array_elements(:'constraints'::json) x
    where exists (select from pg_constraint k where k.conrelid = to_regclass(format('%I.%I', :'schema', x->>'table'))
      and k.conname = x->>'name')) p`;

/** Lends the tables to the import role (the owners are in its comment already). */
export const LEND_SQL = `set search_path = pg_catalog;
begin;
select format('alter table %I.%I owner to ${IMPORT_ROLE}', :'schema', t) from ${LIST('tables')} t \\gexec
commit;`;

/** Gives lent tables back to the owners they had (a JSON object: qualified name to owner). */
export const RETURN_SQL = `set search_path = pg_catalog;
begin;
select format('alter table %s owner to %I', to_regclass(l.key), l.value) from json_each_text(:'owners'::json) l
  where (select relowner from pg_class where oid = to_regclass(l.key)) = (select oid from pg_roles
    where rolname = '${IMPORT_ROLE}') \\gexec
commit;`;

/** The function the hold trigger calls: refuses the local application's writes with words that say why. */
export const HOLD_FUNCTION_SQL = `set search_path = pg_catalog;
select format($f$create or replace function %I.${HOLD_NAME}() returns trigger language plpgsql
  set search_path = pg_catalog as $b$
begin
  raise exception 'table %%.%% is being set up by pgduplex migrate: its first rows are still on their way',
    tg_table_schema, tg_table_name using errcode = '55000', hint = 'retry in a moment';
end $b$$f$, :'schema') \\gexec`;

/** Drops the hold trigger from every table and then its function; returns the tables released. */
export const RELEASE_SQL = `set search_path = pg_catalog;
begin;
create temporary table pgduplex_released on commit drop as select c.relname from pg_trigger g
  join pg_class c on c.oid = g.tgrelid where c.relnamespace = :'schema'::regnamespace and g.tgname = '${HOLD_NAME}';
select format('drop trigger ${HOLD_NAME} on %I.%I', :'schema', relname) from pgduplex_released \\gexec
select format('drop function if exists %I.${HOLD_NAME}()', :'schema') \\gexec
select coalesce(json_agg(relname order by relname), '[]') from pgduplex_released;
commit;`;

/** Drops what a carry created, newest kinds first, in one transaction. */
export const UNDO_CARRY_SQL = `set search_path = pg_catalog;
begin;
select format('alter table %I.%I drop constraint if exists %I', :'schema', x->>'table', x->>'name')
  from json_array_elements(:'constraints'::json) x
  where to_regclass(format('%I.%I', :'schema', x->>'table')) is not null \\gexec
select format('drop index if exists %I.%I', :'schema', t) from ${LIST('indexes')} t \\gexec
select format('alter table %I.%I drop column if exists %I', :'schema', x->>'table', x->>'column')
  from json_array_elements(:'columns'::json) x
  where to_regclass(format('%I.%I', :'schema', x->>'table')) is not null \\gexec
select format('drop table if exists %I.%I', :'schema', t) from ${LIST('tables')} t \\gexec
select format('drop sequence if exists %I.%I', :'schema', t) from ${LIST('sequences')} t \\gexec
commit;`;

/**
 * Rewrites columns with their own values so the rows replicate, 1000 pages of the table per transaction (a big table
 * is not one huge transaction for either node); triggers of the application do not fire. Prints the rows rewritten.
 */
export const TOUCH_SQL = `set search_path = pg_catalog;
set session_replication_role = replica;
select set_config('pgduplex.touch_table', format('%I.%I', :'schema', :'table'), false),
  set_config('pgduplex.touch_sets', (select string_agg(format('%I = %I', c, c), ', ') from ${LIST('columns')} c),
    false),
  set_config('pgduplex.touch_where', case when :'only_null' = 'true' then ' and (' || (select string_agg(
    format('%I is null', c), ' or ') from ${LIST('columns')} c) || ')' else '' end, false) \\g /dev/null
do $t$
declare
  rel regclass := current_setting('pgduplex.touch_table')::regclass;
  pages bigint := pg_relation_size(rel) / current_setting('block_size')::int;
  p bigint := 0;
  n bigint := 0;
  got bigint;
  mine xid[] := '{}';
begin
  -- A row an earlier batch rewrote may have moved into a later range: its transaction's xmin says it is done.
  while p <= pages loop
    execute format('update %s set %s where ctid >= %L::tid and ctid < %L::tid and not (xmin = any(%L::xid[]))%s',
      rel, current_setting('pgduplex.touch_sets'), format('(%s,0)', p), format('(%s,0)', p + 1000), mine,
      current_setting('pgduplex.touch_where'));
    get diagnostics got = row_count;
    n := n + got;
    if got > 0 then
      mine := mine || (pg_current_xact_id()::text::bigint % 4294967296)::text::xid;
    end if;
    commit;
    p := p + 1000;
  end loop;
  perform set_config('pgduplex.touched', n::text, false);
end $t$;
select current_setting('pgduplex.touched');`;

/** The event trigger that stops the import role dropping what a carry must leave (its function has the same name). */
export const GUARD_NAME = 'pgduplex_carry_guard';

/**
 * Installs the guard: any DROP the import role's session makes of a table, column, sequence, view, function, type,
 * trigger, rule or policy fails there and then, inside its transaction, so nothing of the operator's is lost even
 * to a script that commits on its own. Indexes, constraints and defaults a migration replaces may go.
 */
export const GUARD_SQL = `set search_path = pg_catalog;
select format($f$create or replace function %I.${GUARD_NAME}() returns event_trigger language plpgsql
  set search_path = pg_catalog as $b$
declare
  o record;
begin
  if session_user::text <> '${IMPORT_ROLE}' then
    return;
  end if;
  for o in select * from pg_event_trigger_dropped_objects() loop
    if o.object_type not in ('index', 'table constraint', 'default value', 'toast table') then
      raise exception 'a carried schema change may not drop %% %%', o.object_type, o.object_identity;
    end if;
  end loop;
end $b$$f$, :'schema') \\gexec
select format('create event trigger ${GUARD_NAME} on sql_drop execute function %I.${GUARD_NAME}()', :'schema')
  where not exists (select from pg_event_trigger where evtname = '${GUARD_NAME}') \\gexec`;

/** Removes the guard again. */
export const UNGUARD_SQL = `set search_path = pg_catalog;
drop event trigger if exists ${GUARD_NAME};
select format('drop function if exists %I.${GUARD_NAME}()', :'schema') \\gexec`;
