import { PUBLICATION } from '../../shared/replication.js';
import { statusColumns } from './catalog-columns.js';

/**
 * One node's replication facts in one query, written for one server version: each text names only columns that
 * version has (17's `inactive_since`, 18's `confl_*` counters, 19's split sync error counters and
 * `retain_dead_tuples`); what a version lacks comes back null.
 */
export function replicationStatusSql(versionNum: number): string {
  const c = statusColumns(versionNum);
  return `select json_build_object(
  'serverVersionNum', current_setting('server_version_num')::int,
  'walLsn', pg_current_wal_lsn()::text,
  'published', (select coalesce(json_agg(format('%s.%s', schemaname, tablename) order by schemaname, tablename), '[]')
    from pg_publication_tables where pubname = '${PUBLICATION}'),
  'maxSlotWalKeepSize', current_setting('max_slot_wal_keep_size'),
  'maxSlotWalKeepSizeBytes', (select case when setting::bigint < 0 then null else setting::bigint * 1024 * 1024 end
    from pg_settings where name = 'max_slot_wal_keep_size'),
  'slots', (select coalesce(json_agg(json_build_object('name', s.slot_name, 'database', s.database, 'active', s.active,
      'walStatus', s.wal_status, 'safeWalSizeBytes', s.safe_wal_size, 'confirmedFlushLsn', s.confirmed_flush_lsn::text,
      'retainedBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint,
      'lagBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint,
      'inactiveSeconds', ${c.inactiveSeconds},
      'replayLagSeconds', round(extract(epoch from r.replay_lag), 3), 'senderState', r.state)
      order by s.slot_name), '[]')
    from pg_replication_slots s left join pg_stat_replication r on r.pid = s.active_pid where s.slot_type = 'logical'),
  'senders', (select coalesce(json_agg(json_build_object('application', application_name, 'client', client_addr::text,
      'state', state, 'lagBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
      'replyTime', reply_time)), '[]')
    from pg_stat_replication),
  'subscriptions', (select coalesce(json_agg(json_build_object('name', s.subname, 'database', d.datname,
      'enabled', s.subenabled, 'slot', s.subslotname,
      'origin', 'pg_' || s.oid, 'originLsn', o.remote_lsn::text, 'skipLsn', nullif(s.subskiplsn, '0/0'::pg_lsn)::text,
      'workerPid', w.pid,
      'syncWorkers', (select count(*) from pg_stat_subscription x where x.subid = s.oid and x.relid is not null),
      'lastMessageSendTime', w.last_msg_send_time, 'lastMessageReceiptTime', w.last_msg_receipt_time,
      'applyErrors', coalesce(st.apply_error_count, 0),
      'syncErrors', ${c.syncErrors}, 'syncSeqErrors', ${c.syncSeqErrors},
      'conflicts', ${c.conflicts}, 'retainDeadTuples', ${c.retainDeadTuples},
      'tables', case when d.datname = current_database() then (select coalesce(json_object_agg(state, n), '{}')
        from (select srsubstate::text state, count(*) n from pg_subscription_rel r
          where r.srsubid = s.oid group by 1) x) end,
      'relations', case when d.datname = current_database() then (select coalesce(json_agg(
          format('%s.%s', n.nspname, c.relname) order by n.nspname, c.relname), '[]')
        from pg_subscription_rel r join pg_class c on c.oid = r.srrelid join pg_namespace n on n.oid = c.relnamespace
        where r.srsubid = s.oid) end)
      order by s.subname), '[]')
    from pg_subscription s join pg_database d on d.oid = s.subdbid
    left join pg_stat_subscription w on w.subid = s.oid and w.relid is null and w.leader_pid is null
    left join pg_stat_subscription_stats st on st.subid = s.oid
    left join pg_replication_origin_status o on o.external_id = 'pg_' || s.oid))`;
}
