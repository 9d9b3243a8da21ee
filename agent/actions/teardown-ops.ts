import { PgduplexError } from '../../shared/errors.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJsonFor } from '../postgres/server-version.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import {
  CREATE_SUBSCRIPTION_SQL,
  DETACH_AND_DROP_SQL,
  DROP_SUBSCRIPTION_SQL,
  readSubscriptionSql,
  type SubscriptionState,
} from '../postgres/subscription-sql.js';
import { plannedChange } from './change.js';
import { slotDropChange, subscriptionDropChange } from '../../shared/protocol/replication-actions.js';
import type { AgentServices } from './context.js';

/** One replication slot as slot-drop plans from it, or {exists: false}. */
export const SLOT_SQL = `select coalesce((select json_build_object('exists', true, 'active', active, 'type', slot_type,
    'database', database,
    'retainedBytes', case when restart_lsn is null then 0
      else pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint end)
  from pg_replication_slots where slot_name = :'slot'), json_build_object('exists', false))`;

/** Waits up to 10 s for the walsender to exit, so the slot is free when it is dropped right after. */
export const TERMINATE_SQL = `select pg_terminate_backend(active_pid, 10000) from pg_replication_slots
  where slot_name = :'slot' and active_pid is not null;\n`;

/**
 * `subscription-drop`: removes a subscription (and its slot on the publisher when reachable; else it
 * names the slot left there). Undo re-creates it without copying data: changes made on the publisher
 * in between are not replicated, and the result says so.
 */
export const subscriptionDropAction = (s: AgentServices) => {
  const env = async (database: string) => ({
    cluster: await resolveCluster(s.postgresql),
    t: { timeoutMs: s.limits.toolTimeoutMs * 4, database },
  });
  const read = async (database: string, name: string) => {
    const { cluster, t } = await env(database);
    return queryJsonFor<SubscriptionState>(cluster, readSubscriptionSql, { ...t, vars: { sub: name } });
  };
  return plannedChange(subscriptionDropChange, {
    async plan({ database, name }) {
      const before = await read(database, name);
      return {
        changes: before.exists ? [`dropped subscription ${name} in ${database}`] : [],
        record: { database, name, before },
        state: { database, name, before },
      };
    },
    async make({ state: { database, name, before } }) {
      const { cluster, t } = await env(database);
      const notes: string[] = [];
      try {
        await runPsql(cluster, DROP_SUBSCRIPTION_SQL, { ...t, vars: { sub: name } });
      } catch {
        await runPsql(cluster, DETACH_AND_DROP_SQL, { ...t, vars: { sub: name } });
        notes.push(
          `the publisher could not be reached: drop slot ${before.slot ?? name} there ` +
            `with select pg_drop_replication_slot('${before.slot ?? name}')`,
        );
      }
      if ((await read(database, name)).exists)
        throw new PgduplexError('PG_QUERY_FAILED', `subscription ${name} still exists after the drop`);
      return { notes };
    },
    async undo(r) {
      const b = r.before as SubscriptionState;
      // An interrupted drop may never have happened.
      if ((await read(r.database, r.name)).exists) return [];
      const { cluster, t } = await env(r.database);
      const vars = {
        sub: r.name,
        conn: b.conninfo ?? '',
        pub: b.publications?.[0] ?? '',
        origin: b.origin ?? 'none',
        copy_data: 'false',
        binary: String(b.binary),
        streaming: b.streaming ?? 'off',
        disable_on_error: String(b.disableOnError),
        enabled: String(b.enabled),
        password_required: String(b.passwordRequired ?? true),
        run_as_owner: String(b.runAsOwner ?? false),
        failover: String(b.failover ?? false),
      };
      await runPsql(cluster, CREATE_SUBSCRIPTION_SQL, { ...t, vars });
      return [
        `re-created subscription ${r.name} without copying data: ` +
          'changes made on the publisher while it was gone are not replicated',
      ];
    },
  });
};

/**
 * `slot-drop`: drops a replication slot of a peer that is gone for good, so it stops holding WAL.
 * A slot cannot be re-created at its old position, so the caller must name the WAL it releases
 * (confirming what is given up) and undo says what it cannot bring back. `terminate` ends the
 * walsender of a subscriber that still streams from it (teardown, with the peer out of reach).
 */
export const slotDropAction = (s: AgentServices) => {
  const read = async (slot: string) =>
    queryJson<{ exists: boolean; active?: boolean; type?: string; database?: string; retainedBytes?: number }>(
      await resolveCluster(s.postgresql),
      SLOT_SQL,
      { timeoutMs: s.limits.toolTimeoutMs, vars: { slot } },
    );
  return plannedChange(slotDropChange, {
    async plan({ slot, confirmRetainedBytesAtLeast, terminate }) {
      const st = await read(slot);
      const sql = `${terminate ? TERMINATE_SQL : ''}select pg_drop_replication_slot(:'slot');`;
      const record = { slot, database: st.database ?? null };
      if (!st.exists) return { changes: [], record, state: { slot, sql } };
      if (st.active && !terminate)
        throw new PgduplexError('BUSY', `slot ${slot} is in use by a connected subscriber`, {
          hint: 'drop or disable the subscription on the other node first',
        });
      if ((st.retainedBytes ?? 0) < confirmRetainedBytesAtLeast) {
        throw new PgduplexError(
          'REFUSED',
          `slot ${slot} holds ${st.retainedBytes} bytes, less than the ${confirmRetainedBytesAtLeast} you confirmed: ` +
            'it moved since you looked',
          { hint: 'check again and confirm the current figure' },
        );
      }
      return {
        changes: [
          `dropped slot ${slot} (${st.retainedBytes} bytes of WAL released` +
            `${st.active ? '; the walsender using it was ended' : ''})`,
        ],
        record,
        state: { slot, sql },
      };
    },
    async make({ state: { slot, sql } }) {
      await runPsql(await resolveCluster(s.postgresql), sql, { timeoutMs: s.limits.toolTimeoutMs, vars: { slot } });
    },
    async undo({ slot }) {
      return [`slot ${slot} cannot be restored at its old position; re-run setup so the subscriber re-synchronises`];
    },
  });
};
