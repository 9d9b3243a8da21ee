import { z } from 'zod';
import { defineAction } from '../../shared/protocol/actions.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

// to_jsonb(row) keeps whatever columns this server version has (PG 18's conflict counters included).
const STATUS_SQL = `select json_build_object(
  'walLsn', pg_current_wal_lsn()::text,
  'maxSlotWalKeepSize', current_setting('max_slot_wal_keep_size'),
  'slots', (select coalesce(json_agg(json_build_object('name', slot_name, 'type', slot_type, 'plugin', plugin, 'database', database,
      'active', active, 'walStatus', wal_status, 'safeWalSizeBytes', safe_wal_size, 'confirmedFlushLsn', confirmed_flush_lsn::text,
      'retainedBytes', case when restart_lsn is null then null else pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint end) order by slot_name), '[]')
    from pg_replication_slots),
  'senders', (select coalesce(json_agg(json_build_object('application', application_name, 'client', client_addr::text, 'state', state,
      'lagBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, 'replyTime', reply_time)), '[]') from pg_stat_replication),
  'subscriptionStats', (select coalesce(json_agg(to_jsonb(s) - 'subid' order by s.subname), '[]') from pg_stat_subscription_stats s),
  'workers', (select coalesce(json_agg(json_build_object('subscription', subname, 'relid', relid, 'receivedLsn', received_lsn::text,
      'latestEndLsn', latest_end_lsn::text, 'lastMessageSendTime', last_msg_send_time, 'lastMessageReceiptTime', last_msg_receipt_time)), '[]') from pg_stat_subscription))`;

const statusAction = defineAction({
      name: 'replication.status',
      mutates: false,
      params: z.strictObject({}),
      result: z.strictObject({
        walLsn: z.string(),
        maxSlotWalKeepSize: z.string(),
        slots: z.array(z.record(z.string(), z.unknown())),
        senders: z.array(z.record(z.string(), z.unknown())),
        subscriptionStats: z.array(z.record(z.string(), z.unknown())),
        workers: z.array(z.record(z.string(), z.unknown())),
      }),
});

/** Read-only: slots with the WAL they hold, senders, subscription workers and error/conflict counters. */
export const replicationStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: statusAction,
    callers: ['local', 'peer'],
    run: async () => queryJson<z.output<typeof statusAction.result>>(await resolveCluster(s.postgresql), STATUS_SQL, { timeoutMs: s.limits.toolTimeoutMs }),
  });
