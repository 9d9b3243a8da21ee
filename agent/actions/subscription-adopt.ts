import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import { subscriptionAdoptChange } from '../../shared/protocol/adopt.js';
import { canonical } from '../../shared/protocol/peer-policy.js';
import { compareLsn } from '../../shared/replication.js';
import {
  ADVANCE_ORIGIN_SQL,
  CREATE_ON_SLOT_SQL,
  DETACHED_DROP_SQL,
  HANDOVER_STATE_SQL,
  OLD_TARGET_SQL,
  SET_ENABLED_SQL,
  type HandoverSub,
} from '../postgres/adopt-sql.js';
import { resolveCluster } from '../postgres/cluster.js';
import { connTarget } from '../postgres/conninfo.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { DROP_SUBSCRIPTION_SQL } from '../postgres/subscription-sql.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';
import { conninfo } from './subscription.js';

type State = { old: HandoverSub | null; sub: HandoverSub | null };

/** How long a disabled subscription's workers may take to exit. */
const STOP_WAIT_MS = 60_000;

/**
 * `subscription-adopt`: takes one direction over from the script's subscription. The script's is disabled and its
 * workers awaited; its origin's remote_lsn L is then the end of the last transaction it applied. pgduplex's is
 * created on the copied slot (which stands at or before L) without a copy, its origin moved to L, and enabled: it
 * starts streaming right after what the script's applied. Undo does the same backwards while the script's exists.
 */
export const subscriptionAdoptAction = (s: AgentServices) => {
  const env = async (database: string) => ({
    cluster: await resolveCluster(s.postgresql),
    t: { timeoutMs: s.limits.toolTimeoutMs * 4, database },
  });
  const read = async (database: string, old: string, sub: string): Promise<State> => {
    const { cluster, t } = await env(database);
    return queryJson<State>(cluster, HANDOVER_STATE_SQL, { ...t, vars: { old, sub } });
  };
  const stopped = async (database: string, old: string, sub: string, which: 'old' | 'sub'): Promise<State> =>
    poll(
      async () => {
        const st = await read(database, old, sub);
        return (st[which]?.workers ?? 0) === 0 ? st : undefined;
      },
      {
        timeoutMs: STOP_WAIT_MS,
        intervalMs: 200,
        expired: () => {
          throw new PgduplexError('TIMEOUT', `the workers of ${which === 'old' ? old : sub} did not stop in 60 s`, {
            hint: 're-run: the handover resumes where it stopped',
          });
        },
      },
    );
  return plannedChange(subscriptionAdoptChange, {
    async plan(p) {
      const st = await read(p.database, p.adopt, p.name);
      // Setup takes over only a streaming subscription; one found disabled was disabled by an earlier, cut-short run.
      const record = { database: p.database, name: p.name, adopt: p.adopt, adoptWasEnabled: st.old !== null };
      if (st.sub?.enabled && st.old?.enabled)
        throw new PgduplexError(
          'REFUSED',
          `both ${p.adopt} and ${p.name} are enabled: every change of the peer is applied twice`,
          { hint: `disable ${p.adopt} (ALTER SUBSCRIPTION ${p.adopt} DISABLE), then re-run` },
        );
      if (st.sub?.enabled) return { changes: [], record, state: { p, st } };
      if (st.old === null)
        throw new PgduplexError(
          'REFUSED',
          `there is no subscription ${p.adopt} to take over` +
            (st.sub ? `, and ${p.name} exists disabled: it cannot be told where to start` : ''),
          { hint: 'nothing was changed; pgduplex setup --adopt --dry-run shows what the pair holds' },
        );
      const { cluster, t } = await env(p.database);
      const target = connTarget((await runPsql(cluster, OLD_TARGET_SQL, { ...t, vars: { old: p.adopt } })).trim());
      if (target.host === null || canonical(target.host) !== canonical(p.peer.host))
        throw new PgduplexError(
          'REFUSED',
          `subscription ${p.adopt} connects to ${target.host ?? 'no host'}, not to the peer at ${p.peer.host}`,
          { hint: 'nothing was changed; only a subscription to the peer is taken over' },
        );
      const changes = [
        ...(st.old.enabled ? [`disable the script's subscription ${p.adopt}`] : []),
        ...(st.sub ? [] : [`create subscription ${p.name} on the copied slot ${p.name}, copying nothing`]),
        `start ${p.name} right after the last transaction ${p.adopt} applied, and enable it`,
      ];
      return { changes, record, state: { p, st } };
    },
    async make({ state: { p, st } }, rollback) {
      const { cluster, t } = await env(p.database);
      const psql = (sql: string, vars: Record<string, string>) => runPsql(cluster, sql, { ...t, vars });
      let created = false;
      try {
        if (st.old?.enabled) await psql(SET_ENABLED_SQL, { sub: p.adopt, enabled: 'false' });
        const now = await stopped(p.database, p.adopt, p.name, 'old');
        const lsn = now.old?.lsn ?? null;
        if (lsn === null)
          throw new PgduplexError('REFUSED', `${p.adopt} has applied nothing yet: there is no position to start from`);
        if (!now.sub) {
          const vars = { sub: p.name, conn: conninfo(p, cluster.configDir), pub: p.publication };
          await psql(CREATE_ON_SLOT_SQL, { ...vars, binary: String(p.options.binary), streaming: p.options.streaming });
          created = true;
        }
        const sub = (await read(p.database, p.adopt, p.name)).sub;
        if (sub?.lsn === null || sub?.lsn === undefined || compareLsn(sub.lsn, lsn) < 0)
          await psql(ADVANCE_ORIGIN_SQL, { sub: p.name, lsn });
        await psql(SET_ENABLED_SQL, { sub: p.name, enabled: 'true' });
      } catch (err) {
        // Before pgduplex's is enabled, the script's goes on as it was: nothing was applied by pgduplex's.
        await rollback(async () => {
          if (created) await psql(DETACHED_DROP_SQL, { sub: p.name });
          if (st.old?.enabled) await psql(SET_ENABLED_SQL, { sub: p.adopt, enabled: 'true' });
        });
        throw err;
      }
    },
    async undo(r) {
      const { cluster, t } = await env(r.database);
      const psql = (sql: string, vars: Record<string, string>) => runPsql(cluster, sql, { ...t, vars });
      const st = await read(r.database, r.adopt, r.name);
      if (st.sub === null) return [];
      await psql(SET_ENABLED_SQL, { sub: r.name, enabled: 'false' });
      const at = (await stopped(r.database, r.adopt, r.name, 'sub')).sub?.lsn ?? null;
      // With its slot on the publisher while that answers; else the slot is teardown's to drop there.
      const drop = () =>
        psql(DROP_SUBSCRIPTION_SQL, { sub: r.name }).catch(() => psql(DETACHED_DROP_SQL, { sub: r.name }));
      if (st.old === null) {
        await drop();
        return [
          `dropped subscription ${r.name}; the script's subscription ${r.adopt} is gone, and pgduplex does not ` +
            "restore the script's replication",
        ];
      }
      if (at !== null && (st.old.lsn === null || compareLsn(st.old.lsn, at) < 0))
        await psql(ADVANCE_ORIGIN_SQL, { sub: r.adopt, lsn: at });
      await drop();
      if (r.adoptWasEnabled) await psql(SET_ENABLED_SQL, { sub: r.adopt, enabled: 'true' });
      return [
        `dropped subscription ${r.name}; the script's ${r.adopt} ${r.adoptWasEnabled ? 'streams again' : 'is kept'} ` +
          `from where ${r.name} stopped`,
      ];
    },
  });
};
