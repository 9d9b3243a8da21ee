// One schema's shape as data, read under search_path = pg_catalog so every name in a default, index or constraint
// comes out schema-qualified: two nodes' models then compare as text, and DDL rendered from one applies on the other.

/** The name of the trigger (and its function) that holds a carried table against the local application's writes. */
export const HOLD_NAME = 'pgduplex_hold';

const NS = `(select oid from pg_namespace where nspname = :'schema')`;
// Objects an extension made (uuid-ossp's functions live in public) are the extension's, not the schema's.
const NOT_EXTENSION = (classid: string, oid: string) =>
  `not exists (select from pg_depend e where e.classid = '${classid}'::regclass and e.objid = ${oid}
    and e.deptype = 'e')`;
// A default that calls anything not immutable (a FuncExpr or an operator's function), or CURRENT_TIMESTAMP and the
// like, gives each node its own value.
const VOLATILE = `(d.adbin::text ~ 'SQLVALUEFUNCTION' or exists (select from
    regexp_matches(d.adbin::text, ':(?:op)?funcid (\\d+)', 'g') m join pg_proc p on p.oid = m[1]::oid
    where p.provolatile <> 'i'))`;

/** `schema.model`: tables, columns, constraints, indexes, sequences and the names of everything else. */
export const SCHEMA_MODEL_SQL = `set search_path = pg_catalog;
select json_build_object(
  'schema', :'schema',
  'tables', (select coalesce(json_agg(json_build_object(
      'name', c.relname,
      'columns', (select coalesce(json_agg(json_build_object(
          'name', a.attname,
          'type', format_type(a.atttypid, a.atttypmod) || case when a.attcollation <> 0
            and a.attcollation <> (select typcollation from pg_type where oid = a.atttypid)
            then ' COLLATE ' || (select format('%I.%I', cn.nspname, co.collname) from pg_collation co
              join pg_namespace cn on cn.oid = co.collnamespace where co.oid = a.attcollation) else '' end,
          'notNull', a.attnotnull,
          'default', pg_get_expr(d.adbin, d.adrelid),
          'volatileDefault', d.adbin is not null and a.attgenerated = '' and ${VOLATILE},
          'identity', a.attidentity::text,
          'generated', a.attgenerated::text) order by a.attnum), '[]')
        from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
      'replicaIdentity', c.relreplident::text,
      'identityIndex', (select i.relname from pg_index x join pg_class i on i.oid = x.indexrelid
        where x.indrelid = c.oid and x.indisreplident)) order by c.relname), '[]')
    from pg_class c where c.relnamespace = ${NS} and c.relkind in ('r', 'p') and not c.relispartition),
  'constraints', (select coalesce(json_agg(json_build_object('table', c.relname, 'name', k.conname,
      'type', k.contype::text, 'def', pg_get_constraintdef(k.oid)) order by c.relname, k.conname), '[]')
    from pg_constraint k join pg_class c on c.oid = k.conrelid
    where c.relnamespace = ${NS} and c.relkind in ('r', 'p') and not c.relispartition
      and k.contype in ('p', 'u', 'f', 'c', 'x') and k.conislocal),
  'indexes', (select coalesce(json_agg(json_build_object('table', c.relname, 'name', i.relname,
      'def', pg_get_indexdef(x.indexrelid)) order by c.relname, i.relname), '[]')
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
    where c.relnamespace = ${NS} and c.relkind in ('r', 'p') and not c.relispartition
      and not exists (select from pg_constraint k where k.conindid = x.indexrelid and k.conrelid = x.indrelid
        and k.contype in ('p', 'u', 'x'))),
  'sequences', (select coalesce(json_agg(json_build_object('name', s.relname, 'type', format_type(q.seqtypid, null),
      'increment', q.seqincrement, 'ownedBy', (select t.relname || '.' || a.attname from pg_depend d
        join pg_class t on t.oid = d.refobjid
        join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        where d.classid = 'pg_class'::regclass and d.objid = s.oid and d.refclassid = 'pg_class'::regclass
          and d.deptype = 'a' limit 1)) order by s.relname), '[]')
    from pg_class s join pg_sequence q on q.seqrelid = s.oid
    where s.relnamespace = ${NS} and s.relkind = 'S' and ${NOT_EXTENSION('pg_class', 's.oid')}
      and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = s.oid
        and d.deptype = 'i')),
  'others', (select coalesce(json_agg(o order by o), '[]') from (
    select format('%s %s (definition %s)', case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
        when 'f' then 'foreign table' else 'partition' end, c.relname,
        left(md5(coalesce(pg_get_viewdef(c.oid), pg_get_partition_constraintdef(c.oid), '')), 8)) o
      from pg_class c where c.relnamespace = ${NS} and (c.relkind in ('v', 'm', 'f') or c.relispartition)
    union all select format('function %s (definition %s)', p.oid::regprocedure,
        left(md5(pg_get_functiondef(p.oid)), 8))
      from pg_proc p where p.pronamespace = ${NS} and p.prokind in ('f', 'p') and p.proname not like 'pgduplex\\_%'
        and ${NOT_EXTENSION('pg_proc', 'p.oid')}
    union all select format('type %s (%s)', t.typname, t.typtype) from pg_type t
      where t.typnamespace = ${NS} and t.typtype in ('c', 'd', 'e', 'r', 'm')
        and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')
        and ${NOT_EXTENSION('pg_type', 't.oid')}
    union all select format('trigger %s on %s (definition %s)', g.tgname, c.relname,
        left(md5(pg_get_triggerdef(g.oid)), 8))
      from pg_trigger g join pg_class c on c.oid = g.tgrelid
      where c.relnamespace = ${NS} and not g.tgisinternal and g.tgname <> '${HOLD_NAME}') x))`;

/** Tables of the schema that carry the hold trigger. */
export const HELD_SQL = `set search_path = pg_catalog;
select coalesce(json_agg(c.relname order by c.relname), '[]') from pg_trigger g join pg_class c on c.oid = g.tgrelid
  where c.relnamespace = ${NS} and g.tgname = '${HOLD_NAME}'`;
