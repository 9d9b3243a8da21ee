/** Sessions, logical slots, subscriptions and the cluster's size: what an upgrade of it must know first. */
export const UPGRADE_FACTS_SQL = `set search_path = pg_catalog;
select json_build_object(
  'sessions', (select coalesce(json_agg(json_build_object('database', datname, 'user', coalesce(usename, ''),
      'application', coalesce(application_name, ''), 'client', coalesce(host(client_addr), 'local'))), '[]')
    from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() and datname is not null
      and coalesce(application_name, '') not like 'pgduplex%'),
  'slots', (select coalesce(json_agg(json_build_object('name', slot_name, 'walStatus', wal_status,
      'active', active) order by slot_name), '[]') from pg_replication_slots where slot_type = 'logical'),
  'subscriptions', (select coalesce(json_agg(json_build_object('name', s.subname, 'enabled', s.subenabled,
      'notReady', (select count(*) from pg_subscription_rel r
        where r.srsubid = s.oid and r.srsubstate not in ('i', 'r')))
      order by s.subname), '[]') from pg_subscription s),
  'clusterBytes', (select sum(pg_database_size(oid))::float8 from pg_database where datallowconn),
  'columnOptions', (select coalesce(json_agg(distinct split_part(o, '=', 1)), '[]') from pg_attribute,
    unnest(attoptions) o where attrelid >= 16384))`;

/** What a cluster the target major's packages made holds: empty when nothing but the defaults is there. */
export const EMPTY_CLUSTER_SQL = `set search_path = pg_catalog;
select json_build_object(
  'databases', (select coalesce(json_agg(datname order by datname), '[]') from pg_database
    where datname not in ('postgres', 'template0', 'template1')),
  'objects', (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      and c.relkind in ('r', 'v', 'm', 'S', 'p')))`;
