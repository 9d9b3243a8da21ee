import { subscriptionFailoverColumn } from './catalog-columns.js';

/** A subscription as pg_subscription describes it (the parts pgduplex manages). */
export interface SubscriptionState {
  exists: boolean;
  enabled?: boolean;
  conninfo?: string;
  publications?: string[];
  origin?: string;
  binary?: boolean;
  streaming?: 'off' | 'on' | 'parallel';
  disableOnError?: boolean;
  passwordRequired?: boolean;
  runAsOwner?: boolean;
  /** null on PostgreSQL 16, which has no failover slots. */
  failover?: boolean | null;
  slot?: string | null;
}

/** Reads one subscription of the current database, or {exists: false}, in the text for its server version. */
export const readSubscriptionSql = (
  versionNum: number,
): string => `select coalesce((select json_build_object('exists', true, 'enabled', s.subenabled,
    'conninfo', s.subconninfo,
    'publications', s.subpublications, 'origin', s.suborigin, 'binary', s.subbinary,
    'streaming', case s.substream when 'f' then 'off' when 't' then 'on' else 'parallel' end,
    'disableOnError', s.subdisableonerr, 'slot', s.subslotname,
    'passwordRequired', s.subpasswordrequired, 'runAsOwner', s.subrunasowner,
    'failover', ${subscriptionFailoverColumn(versionNum)})
  from pg_subscription s join pg_database d on d.oid = s.subdbid
  where d.datname = current_database() and s.subname = :'sub'),
  json_build_object('exists', false))`;

// The long format() strings are split in the source only: SQL literals keep their one line.
/** Every statement is assembled by the server with format(%I/%L) from psql variables, never by us. */
export const CREATE_SUBSCRIPTION_SQL =
  `select format('create subscription %I connection %L publication %I with (origin = %s, copy_data = %s, ` +
  `binary = %s, streaming = %s, disable_on_error = %s, enabled = %s, password_required = %s, run_as_owner = %s%s)',
  :'sub', :'conn', :'pub', :'origin', :'copy_data', :'binary', :'streaming', :'disable_on_error', :'enabled',
  :'password_required', :'run_as_owner',
  case when current_setting('server_version_num')::int >= 170000 then format(', failover = %s', :'failover')
  else '' end) \\gexec`;

/** Brings an existing subscription to the wanted connection, publication, options and state. */
export const ALTER_SUBSCRIPTION_SQL =
  `select format('alter subscription %I connection %L', :'sub', :'conn') \\gexec
select format('alter subscription %I set publication %I with (refresh = false)', :'sub', :'pub') \\gexec
select format('alter subscription %I set (origin = %s, binary = %s, streaming = %s, disable_on_error = %s, ` +
  `password_required = %s, run_as_owner = %s)', :'sub', :'origin', :'binary', :'streaming', :'disable_on_error', ` +
  `:'password_required', :'run_as_owner') \\gexec
select format('alter subscription %I %s', :'sub', ` +
  `case when :'enabled' = 'true' then 'enable' else 'disable' end) \\gexec`;

/**
 * Drops a subscription and its slot on the publisher (which must be reachable). A publisher behind a
 * DROP firewall would hold the connect for minutes in a subscription made without connect_timeout, so it is bounded.
 */
export const DROP_SUBSCRIPTION_SQL = `set statement_timeout = '20s';
select format('drop subscription if exists %I', :'sub') \\gexec`;

/** Drops it without reaching the publisher: the remote slot is left for the operator (named in the result). */
export const DETACH_AND_DROP_SQL = `select format('alter subscription %I disable', :'sub') \\gexec
select format('alter subscription %I set (slot_name = none)', :'sub') \\gexec
select format('drop subscription if exists %I', :'sub') \\gexec`;

/**
 * Per-subscription table sync states and worker presence, for status and for waiting on a copy; and for
 * each table whose copy finished but whose sync did not, the publisher slot that sync still needs
 * (PostgreSQL's name for it: pg_<subscription oid>_sync_<table oid>_<this system's identifier>).
 */
export const SUBSCRIPTION_STATUS_SQL = `select coalesce(json_agg(json_build_object('name', s.subname,
    'enabled', s.subenabled,
    'tables', (select coalesce(json_object_agg(st, n), '{}')
      from (select srsubstate::text st, count(*) n from pg_subscription_rel r where r.srsubid = s.oid group by 1) x),
    'workers', (select count(*) from pg_stat_subscription w where w.subid = s.oid),
    'tableBytes', (select coalesce(sum(pg_table_size(r.srrelid)), 0)::bigint from pg_subscription_rel r
      where r.srsubid = s.oid),
    'finishedCopy', (select coalesce(json_agg(json_build_object('table', r.srrelid::regclass::text,
        'slot', format('pg_%s_sync_%s_%s', s.oid, r.srrelid, (select system_identifier from pg_control_system())))
        order by r.srrelid), '[]')
      from pg_subscription_rel r where r.srsubid = s.oid and r.srsubstate = 'f')) order by s.subname), '[]')
  from pg_subscription s join pg_database d on d.oid = s.subdbid where d.datname = current_database()`;
