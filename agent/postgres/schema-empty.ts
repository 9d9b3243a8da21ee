// Emptying a schema for an import or a restore while its extensions stay: FS PBX's tables default to
// uuid-ossp's uuid_generate_v4(), installed in schema public, and `pg_dump -n public` does not carry it.

// DROPS runs inside a dollar-quoted DO body: its lines are split in the source only (the text is unchanged).
/** Whether the catalog row `oid` of `catalog` belongs to an extension (such objects stay with it). */
const member = (catalog: string, oid: string) =>
  `not exists (select 1 from pg_depend dep where dep.classid = '${catalog}'::regclass ` +
  `and dep.objid = ${oid} and dep.deptype = 'e')`;

// Each statement is worked out before the first runs (cascades drop some later names: hence IF EXISTS),
// with search_path pg_catalog so every name prints schema-qualified. Tables go first, then what may
// remain of views and sequences (an identity sequence goes with its table), then routines and types.
const DROPS = (schema: string) =>
  `select coalesce(array_agg(stmt order by ord, stmt), '{}') from (
  select case when c.relkind in ('r', 'p', 'f') then 1 when c.relkind in ('v', 'm') then 2 else 3 end as ord,
      format('drop %s if exists %s cascade', case c.relkind when 'v' then 'view' when 'm' then 'materialized view' ` +
  `when 'S' then 'sequence'
        when 'f' then 'foreign table' else 'table' end, c.oid::regclass) as stmt
    from pg_class c where c.relnamespace = '${schema}'::regnamespace and c.relkind in ('r', 'p', 'f', 'v', 'm', 'S') ` +
  `and ${member('pg_class', 'c.oid')}
  union all select 4, format('drop routine if exists %s cascade', p.oid::regprocedure)
    from pg_proc p where p.pronamespace = '${schema}'::regnamespace and ${member('pg_proc', 'p.oid')}
  union all select 5, format('drop %s if exists %s cascade', ` +
  `case t.typtype when 'd' then 'domain' else 'type' end, t.oid::regtype)
    from pg_type t where t.typnamespace = '${schema}'::regnamespace and t.typtype in ('c', 'd', 'e', 'r')
      and (t.typtype <> 'c' or (select relkind from pg_class where oid = t.typrelid) = 'c') ` +
  `and ${member('pg_type', 't.oid')}
  union all select 6, format('drop collation if exists %I.%I cascade', '${schema}', c.collname)
    from pg_collation c where c.collnamespace = '${schema}'::regnamespace and ${member('pg_collation', 'c.oid')}
  union all select 7, format('drop text search configuration if exists %I.%I cascade', '${schema}', c.cfgname)
    from pg_ts_config c where c.cfgnamespace = '${schema}'::regnamespace and ${member('pg_ts_config', 'c.oid')}
  union all select 8, format('drop text search dictionary if exists %I.%I cascade', '${schema}', d.dictname)
    from pg_ts_dict d where d.dictnamespace = '${schema}'::regnamespace and ${member('pg_ts_dict', 'd.oid')}
) s`;

/**
 * SQL that leaves `schema` (a plain identifier, checked by the caller) present, owned by `owner` and
 * empty of everything but its extensions' objects; `public` also keeps the USAGE every role has on it.
 */
export function emptySchemaSql(schema: string, owner: string): string {
  return `create schema if not exists "${schema}";
alter schema "${schema}" owner to "${owner}";
${schema === 'public' ? 'grant usage on schema public to public;\n' : ''}do $pgduplex$
declare
  next_drop text;
  path text := current_setting('search_path');
  notices text := current_setting('client_min_messages');
begin
  perform set_config('search_path', 'pg_catalog', true);
  perform set_config('client_min_messages', 'warning', true);
  foreach next_drop in array (${DROPS(schema)}) loop
    execute next_drop;
  end loop;
  perform set_config('search_path', path, true);
  perform set_config('client_min_messages', notices, true);
end $pgduplex$;
`;
}

/** A dump's own `CREATE SCHEMA` of the schema it replays: the schema is kept (with its extensions), not made anew. */
export function createsSchemaLine(schema: string): RegExp {
  return new RegExp(`^CREATE SCHEMA (${schema}|"${schema}");$`);
}
