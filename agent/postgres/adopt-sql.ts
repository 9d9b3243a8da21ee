// SQL of the handover from FS PBX's script's replication to pgduplex's. Every statement is assembled by the server
// with format(%I/%L) from psql variables.
import { passwordlessConninfo } from './conninfo.js';

/** A subscription of the current database: enabled, its apply workers alive, and its origin's last applied LSN. */
export interface HandoverSub {
  oid: number;
  enabled: boolean;
  workers: number;
  /** remote_lsn of its replication origin: the end of the last transaction it applied (null before any). */
  lsn: string | null;
}

/** Both subscriptions of a handover on the subscriber: the script's (`old`) and pgduplex's (`sub`). */
export const HANDOVER_STATE_SQL = `with s as (select s.oid, s.subname, s.subenabled,
    (select count(*) from pg_stat_subscription w where w.subid = s.oid and w.pid is not null) as workers,
    (select o.remote_lsn::text from pg_replication_origin_status o where o.external_id = 'pg_' || s.oid) as lsn
  from pg_subscription s where s.subdbid = (select oid from pg_database where datname = current_database()))
select json_build_object(
  'old', (select json_build_object('oid', oid::bigint, 'enabled', subenabled, 'workers', workers, 'lsn', lsn)
    from s where subname = :'old'),
  'sub', (select json_build_object('oid', oid::bigint, 'enabled', subenabled, 'workers', workers, 'lsn', lsn)
    from s where subname = :'sub'))`;

/** Where the script's subscription connects, its password cut out inside PostgreSQL before it leaves. */
export const OLD_TARGET_SQL = `select ${passwordlessConninfo('s.subconninfo')}
  from pg_subscription s where s.subname = :'old'
    and s.subdbid = (select oid from pg_database where datname = current_database())`;

/** Enables or disables one subscription. */
export const SET_ENABLED_SQL = `select format('alter subscription %I %s', :'sub',
  case when :'enabled' = 'true' then 'enable' else 'disable' end) \\gexec`;

/**
 * pgduplex's subscription on a slot that exists already (the copy), without a copy of the data, disabled: it
 * connects once to learn the publication's tables, which it marks ready.
 */
export const CREATE_ON_SLOT_SQL =
  `select format('create subscription %I connection %L publication %I with (create_slot = false, ` +
  `copy_data = false, enabled = false, origin = none, binary = %s, streaming = %s, disable_on_error = false, ` +
  `password_required = true, run_as_owner = false%s)', :'sub', :'conn', :'pub', :'binary', :'streaming',
  case when current_setting('server_version_num')::int >= 170000 then ', failover = false' else '' end) \\gexec`;

/** Moves a subscription's origin to an LSN: it starts there, skipping every transaction that ended before. */
export const ADVANCE_ORIGIN_SQL = `select pg_replication_origin_advance('pg_' || s.oid, :'lsn'::pg_lsn)
  from pg_subscription s where s.subname = :'sub'
    and s.subdbid = (select oid from pg_database where datname = current_database())`;

/** Drops a subscription without touching its slot on the publisher (that slot is dropped apart, or kept). */
export const DETACHED_DROP_SQL = `select format('alter subscription %I disable', :'sub') \\gexec
select format('alter subscription %I set (slot_name = none)', :'sub') \\gexec
select format('drop subscription if exists %I', :'sub') \\gexec`;

/** A logical slot as a copy needs it, with the LSN written now (to wait for the slot to confirm past it). */
export const SLOT_STATE_SQL = `select json_build_object('walLsn', pg_current_wal_lsn()::text,
  'from', (select json_build_object('database', database, 'plugin', plugin, 'active', active,
      'confirmed', confirmed_flush_lsn::text) from pg_replication_slots where slot_name = :'from'),
  'to', (select json_build_object('database', database, 'active', active) from pg_replication_slots
    where slot_name = :'to'))`;

/** A logical slot copied: same plugin, same restart and confirmed positions, not temporary. */
export const COPY_SLOT_SQL = `select pg_copy_logical_replication_slot(:'from', :'to', false)`;

/** Drops a slot nobody uses; an active one is left (a walsender reads it) and the caller says so. */
export const DROP_IDLE_SLOT_SQL = `select pg_drop_replication_slot(slot_name) from pg_replication_slots
  where slot_name = :'slot' and not active`;

/** The script's leftovers the drop looks at: its subscription, a slot and a publication, if they exist. */
export const LEFTOVER_SQL = `select json_build_object(
  'subscription', (select json_build_object('enabled', s.subenabled, 'slot', s.subslotname,
      'workers', (select count(*) from pg_stat_subscription w where w.subid = s.oid and w.pid is not null))
    from pg_subscription s where s.subname = :'sub'
      and s.subdbid = (select oid from pg_database where datname = current_database())),
  'slot', (select json_build_object('active', active, 'database', database) from pg_replication_slots
    where slot_name = :'slot'),
  'publication', (select json_build_object('name', pubname, 'allTables', puballtables) from pg_publication
    where pubname = :'pub'),
  'pgduplexEnabled', (select count(*) from pg_subscription s where s.subname like :'prefix' and s.subenabled
      and s.subdbid = (select oid from pg_database where datname = current_database())))`;

/** Drops a publication. */
export const DROP_PUBLICATION_SQL = `select format('drop publication if exists %I', :'pub') \\gexec`;

/** Re-creates a dropped FOR ALL TABLES publication (the only part of the script's replication that can come back). */
export const CREATE_ALL_TABLES_PUBLICATION_SQL = `select format('create publication %I for all tables', :'pub')
  where not exists (select 1 from pg_publication where pubname = :'pub') \\gexec`;
