// What the import role made, checked as a superuser before anything it made is kept, and the handover of
// what passed to the local owner. Every query runs with search_path = pg_catalog, so no function or operator
// the peer's schema defines can stand in for a built-in one.
import type { Cluster } from './cluster.js';
import { queryJson, runPsql } from './psql.js';
import { IMPORT_ROLE } from './import-role.js';
import { REPL_ROLE } from '../../shared/replication.js';

const R = `(select oid from pg_roles where rolname = '${IMPORT_ROLE}')`;
const NS = `(select oid from pg_namespace where nspname = :'schema')`;
const RELS = `(select oid from pg_class where relowner = ${R})`;
const LANGS = `(select oid from pg_language where lanname in ('sql', 'plpgsql'))`;
// Tables a schema carry lent the role, with their sequences and indexes: their rows and grants are the operator's.
const LENT = `(select t.oid from pg_class t where t.oid in (select to_regclass(x)::oid
    from json_array_elements_text(:'lent'::json) x)
  union select d.objid from pg_depend d where d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
    and d.refobjid in (select to_regclass(x)::oid from json_array_elements_text(:'lent'::json) x))`;

// One line per object the import made that is not an allowlisted kind, or that carries what is refused.
const VIOLATIONS = `set search_path = pg_catalog;
select coalesce(json_agg(why order by why), '[]') from (
  select coalesce(pg_describe_object(d.classid, d.objid, d.objsubid), d.classid::regclass::text) ||
      ': not a kind of object pgduplex imports' as why
    from pg_shdepend d where d.refobjid = ${R} and d.deptype = 'o' and (d.dbid <> (select oid from pg_database
      where datname = current_database()) or d.classid not in ('pg_class'::regclass, 'pg_proc'::regclass,
      'pg_type'::regclass))
  union all select format('%s: %s', c.oid::regclass, case c.relkind when 'm' then 'a materialized view'
      when 'f' then 'a foreign table' else 'a relation of kind ' || c.relkind::text end) || ', not imported'
    from pg_class c where c.relowner = ${R} and not ((c.relnamespace = ${NS} and c.relkind in
      ('r', 'p', 'S', 'v', 'i', 'I', 'c')) or (c.relnamespace = 'pg_toast'::regnamespace and c.relkind in ('t', 'i')))
  union all select format('%s: grants (%s)', c.oid::regclass, c.relacl) from pg_class c
    where c.relowner = ${R} and c.relacl is not null and c.oid not in ${LENT}
  union all select format('%s.%s: column grants', a.attrelid::regclass, a.attname) from pg_attribute a
    where a.attrelid in ${RELS} and a.attacl is not null and a.attrelid not in ${LENT}
  union all select format('%s: row level security', c.oid::regclass) from pg_class c
    where c.relowner = ${R} and (c.relrowsecurity or c.relforcerowsecurity)
  union all select format('%s: policy %s', p.polrelid::regclass, p.polname) from pg_policy p
    where p.polrelid in ${RELS}
  union all select format('%s: rule %s', r.ev_class::regclass, r.rulename) from pg_rewrite r
    join pg_class c on c.oid = r.ev_class where c.relowner = ${R} and not (r.rulename = '_RETURN' and c.relkind = 'v')
  union all select format('%s: trigger %s fires for replication too (ENABLE ALWAYS or REPLICA)',
      t.tgrelid::regclass, t.tgname) from pg_trigger t
    where t.tgrelid in ${RELS} and not t.tgisinternal and t.tgenabled in ('A', 'R')
  union all select format('%s: %s', c.oid::regclass, 'holds rows (a schema import makes empty tables)')
    from pg_class c where c.relowner = ${R} and c.relkind = 'r' and pg_relation_size(c.oid) > 0
      and c.oid not in ${LENT}
  union all select format('%s: %s', p.oid::regprocedure, case
      when p.pronamespace <> ${NS} then 'outside the schema'
      when p.prokind not in ('f', 'p') then 'an aggregate or window function'
      when p.prolang not in ${LANGS}
        then 'in language ' || (select lanname::text from pg_language where oid = p.prolang)
      when p.prosecdef then 'SECURITY DEFINER'
      when p.proacl is not null then 'grants'
      else 'has the name of a built-in function' end)
    from pg_proc p where p.proowner = ${R} and (p.pronamespace <> ${NS} or p.prokind not in ('f', 'p')
      or p.prolang not in ${LANGS} or p.prosecdef or p.proacl is not null
      or exists (select from pg_proc b where b.pronamespace = 'pg_catalog'::regnamespace and b.proname = p.proname))
  union all select format('%s: %s', t.oid::regtype, case
      when t.typnamespace <> ${NS} then 'a type outside the schema'
      when t.typacl is not null then 'grants' else 'a base, range or pseudo type' end)
    from pg_type t where t.typowner = ${R} and (t.typnamespace <> ${NS} or t.typacl is not null
      or not (t.typtype in ('c', 'd', 'e') or (t.typtype = 'b' and t.typelem <> 0
        and t.typsubscript = 'array_subscript_handler'::regproc)))
  union all select format('cast (%s as %s)', c.castsource::regtype, c.casttarget::regtype) from pg_cast c
    where c.castfunc in (select oid from pg_proc where proowner = ${R})
      or c.castsource in (select oid from pg_type where typowner = ${R})
      or c.casttarget in (select oid from pg_type where typowner = ${R})
  union all select 'default privileges' from pg_default_acl where defaclrole = ${R}
  union all select 'a membership of role ' || roleid::regrole::text from pg_auth_members where member = ${R}
) v`;

/**
 * What the import role made that is refused, one line each (empty: everything it made may stay); `lent` names
 * (qualified) the operator's tables a carry lent it, whose rows and grants were there before.
 */
export async function importViolations(
  cluster: Cluster,
  database: string,
  schema: string,
  timeoutMs: number,
  lent: readonly string[] = [],
): Promise<string[]> {
  return queryJson<string[]>(cluster, VIOLATIONS, {
    database,
    timeoutMs,
    vars: { schema, lent: JSON.stringify(lent) },
  });
}

/**
 * Gives everything the import role made to `owner`, grants the replication role SELECT on the imported
 * tables as the source has it (the dump carries no grants), and drops the import role, in one transaction.
 */
export async function handOver(
  cluster: Cluster,
  database: string,
  schema: string,
  owner: string,
  timeoutMs: number,
): Promise<void> {
  const sql = `set search_path = pg_catalog;
begin;
select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = '${IMPORT_ROLE}';
reassign owned by ${IMPORT_ROLE} to :"owner";
select format('grant select on all tables in schema %I to %I', :'schema', rolname) from pg_roles
  where rolname = '${REPL_ROLE}' \\gexec
drop owned by ${IMPORT_ROLE};
drop role ${IMPORT_ROLE};
commit;
`;
  await runPsql(cluster, sql, { database, timeoutMs, vars: { schema, owner } });
}

/** The owner the import hands its objects to: the peer's table owner when that role exists here and is no
 * role of pgduplex's, else the database's owner. */
export async function localOwner(
  cluster: Cluster,
  database: string,
  wanted: string | undefined,
  timeoutMs: number,
): Promise<string> {
  return queryJson<string>(
    cluster,
    `set search_path = pg_catalog;
select to_json(coalesce((select rolname from pg_roles where rolname = :'wanted' and rolname not like 'pgduplex\\_%'),
  (select datdba::regrole::text from pg_database where datname = current_database())))`,
    { database, timeoutMs, vars: { wanted: wanted ?? '' } },
  );
}
