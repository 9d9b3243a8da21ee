import { subscriptionStatusAction } from '../../shared/protocol/replication-actions.js';
import { join } from 'node:path';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJsonFor } from '../postgres/server-version.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import {
  ALTER_SUBSCRIPTION_SQL,
  CREATE_SUBSCRIPTION_SQL,
  DETACH_AND_DROP_SQL,
  DROP_SUBSCRIPTION_SQL,
  readSubscriptionSql,
  SUBSCRIPTION_STATUS_SQL,
  type SubscriptionState,
} from '../postgres/subscription-sql.js';
import { plannedChange } from './change.js';
import { subscriptionChange } from '../../shared/protocol/replication-actions.js';
import type { AgentServices } from './context.js';
import { PASSFILE_NAME } from './pg-passfile.js';
import { defineHandler } from './registry.js';

type Params = z.output<typeof subscriptionChange.params>;

/**
 * A worker only receiving (a table's initial COPY) never notices a peer cut off by the network: without
 * keepalives it waits for the kernel's 2 h default. These bound that to about 30 s, and a connect to 10 s.
 */
export const LINK_LIVENESS =
  'connect_timeout=10 keepalives=1 keepalives_idle=10 keepalives_interval=5 keepalives_count=4 tcp_user_timeout=30000';

/** The conninfo pgduplex's subscriptions use: the passfile, never a password; TLS; the liveness bounds. */
export function conninfo(p: Params, configDir: string): string {
  return (
    `host=${p.peer.host} port=${p.peer.port} dbname=${p.peer.database} user=${p.peer.user} sslmode=${p.sslmode} ` +
    `passfile=${join(configDir, PASSFILE_NAME)} application_name=${p.name} ${LINK_LIVENESS}`
  );
}

function differences(cur: SubscriptionState, p: Params, conn: string): string[] {
  if (!cur.exists)
    return [
      `create subscription ${p.name} in ${p.database} to publication ${p.publication} ` +
        `at ${p.peer.host}:${p.peer.port} (origin=${p.options.origin}, copy_data=${p.options.copyData}, ` +
        `binary=${p.options.binary}, streaming=${p.options.streaming})`,
    ];
  const o = p.options;
  const diffs: Array<[string, unknown, unknown]> = [
    ['connection', cur.conninfo, conn],
    ['publication', cur.publications?.join(','), p.publication],
    ['origin', cur.origin, o.origin],
    ['binary', cur.binary, o.binary],
    ['streaming', cur.streaming, o.streaming],
    ['disable_on_error', cur.disableOnError, o.disableOnError],
    ['enabled', cur.enabled, o.enabled],
    ['password_required', cur.passwordRequired, o.passwordRequired],
    ['run_as_owner', cur.runAsOwner, o.runAsOwner],
    ...(cur.failover === null || cur.failover === undefined
      ? []
      : [['failover', cur.failover, o.failover] as [string, unknown, unknown]]),
  ];
  return diffs
    .filter(([, a, b]) => a !== b)
    .map(([k, a, b]) => `subscription ${p.name}: ${k} ${String(a)} -> ${String(b)}`);
}

/**
 * `subscription`: ensures a subscription to the peer's publication with the pair's options (origin
 * none: changes that came from the peer are not sent back). The password comes from the agent's
 * passfile, so subconninfo names a file, never a secret. Undo drops what it created.
 */
export const subscriptionAction = (s: AgentServices) => {
  const env = async (p: { database: string; name: string }) => ({
    cluster: await resolveCluster(s.postgresql),
    t: { timeoutMs: s.limits.toolTimeoutMs * 4, database: p.database },
  });
  const read = async (p: { database: string; name: string }) => {
    const { cluster, t } = await env(p);
    return queryJsonFor<SubscriptionState>(cluster, readSubscriptionSql, { ...t, vars: { sub: p.name } });
  };
  return plannedChange(subscriptionChange, {
    async plan(p) {
      const { cluster, t } = await env(p);
      const conn = conninfo(p, cluster.configDir);
      const before = await read(p);
      const changes = differences(before, p, conn);
      const o = p.options;
      if (
        changes.length > 0 &&
        before.exists &&
        before.failover !== null &&
        before.failover !== undefined &&
        before.failover !== o.failover
      ) {
        throw new PgduplexError(
          'REFUSED',
          `subscription ${p.name} exists with failover = ${before.failover}; ` +
            'changing it needs the subscription disabled first',
          { hint: 'drop and re-create it (subscription-drop, then subscription)' },
        );
      }
      const vars = {
        sub: p.name,
        conn,
        pub: p.publication,
        origin: o.origin,
        copy_data: String(o.copyData),
        binary: String(o.binary),
        streaming: o.streaming,
        disable_on_error: String(o.disableOnError),
        enabled: String(o.enabled),
        password_required: String(o.passwordRequired),
        run_as_owner: String(o.runAsOwner),
        failover: String(o.failover),
      };
      return {
        changes,
        record: { database: p.database, name: p.name, before },
        state: { cluster, t, vars, exists: before.exists },
      };
    },
    // What it reads back is the re-plan's to verify: a difference left fails the apply, its entry journaled.
    async make({ state: { cluster, t, vars, exists } }) {
      await runPsql(cluster, exists ? ALTER_SUBSCRIPTION_SQL : CREATE_SUBSCRIPTION_SQL, { ...t, vars });
    },
    async undo(r) {
      const before = r.before as SubscriptionState;
      const { cluster, t } = await env(r);
      if (before.exists) {
        const vars = {
          sub: r.name,
          conn: before.conninfo ?? '',
          pub: before.publications?.[0] ?? '',
          origin: before.origin ?? 'none',
          binary: String(before.binary),
          streaming: before.streaming ?? 'off',
          disable_on_error: String(before.disableOnError),
          enabled: String(before.enabled),
          password_required: String(before.passwordRequired ?? true),
          run_as_owner: String(before.runAsOwner ?? false),
        };
        await runPsql(cluster, ALTER_SUBSCRIPTION_SQL, { ...t, vars });
        return [`restored subscription ${r.name} to its previous settings`];
      }
      try {
        await runPsql(cluster, DROP_SUBSCRIPTION_SQL, { ...t, vars: { sub: r.name } });
        return [`dropped subscription ${r.name} and its slot on the publisher`];
      } catch {
        const slot = (await read(r)).slot ?? r.name;
        await runPsql(cluster, DETACH_AND_DROP_SQL, { ...t, vars: { sub: r.name } });
        return [
          `dropped subscription ${r.name}; the publisher was unreachable, ` +
            `so drop its slot ${slot} there (select pg_drop_replication_slot('${slot}'))`,
        ];
      }
    },
  });
};

/** Read-only: each subscription's table sync states and workers, to wait on and to report. */
export const subscriptionStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: subscriptionStatusAction,
    run: async ({ database }) =>
      queryJson(await resolveCluster(s.postgresql), SUBSCRIPTION_STATUS_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database,
      }),
  });
