import { PgduplexError } from '../../shared/errors.js';
import { foreignDropChange } from '../../shared/protocol/adopt.js';
import { PGDUPLEX_OBJECT_LIKE } from '../../shared/replication.js';
import {
  CREATE_ALL_TABLES_PUBLICATION_SQL,
  DETACHED_DROP_SQL,
  DROP_IDLE_SLOT_SQL,
  DROP_PUBLICATION_SQL,
  LEFTOVER_SQL,
} from '../postgres/adopt-sql.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';

type Leftover = {
  subscription: { enabled: boolean; slot: string | null; workers: number } | null;
  slot: { active: boolean; database: string | null } | null;
  publication: { name: string; allTables: boolean } | null;
  pgduplexEnabled: number;
};

/**
 * `foreign-drop`: removes what the handover left of the script's replication. It refuses anything still in use:
 * an enabled subscription or one with workers, an active slot, any of them while no pgduplex subscription streams
 * here in its place. The subscription is dropped without its slot (that slot is named apart, on its own node).
 */
export const foreignDropAction = (s: AgentServices) => {
  const env = async (database: string) => ({
    cluster: await resolveCluster(s.postgresql),
    t: { timeoutMs: s.limits.toolTimeoutMs * 4, database },
  });
  const read = async (p: { database: string; subscription?: string; slot?: string; publication?: string }) => {
    const { cluster, t } = await env(p.database);
    const vars = {
      sub: p.subscription ?? '',
      slot: p.slot ?? '',
      pub: p.publication ?? '',
      prefix: PGDUPLEX_OBJECT_LIKE,
    };
    return queryJson<Leftover>(cluster, LEFTOVER_SQL, { ...t, vars });
  };
  return plannedChange(foreignDropChange, {
    async plan(p) {
      const l = await read(p);
      const busy: string[] = [];
      if (l.subscription && (l.subscription.enabled || l.subscription.workers > 0))
        busy.push(`subscription ${p.subscription} is enabled`);
      if (l.slot?.active) busy.push(`slot ${p.slot} is in use`);
      if (l.slot && l.slot.database !== p.database) busy.push(`slot ${p.slot} belongs to database ${l.slot.database}`);
      const any = l.subscription !== null || l.slot !== null || l.publication !== null;
      if (any && l.pgduplexEnabled === 0) busy.push(`no pgduplex subscription streams in ${p.database} yet`);
      if (busy.length > 0)
        throw new PgduplexError('REFUSED', `the script's replication is still in use: ${busy.join('; ')}`, {
          hint: 'nothing was changed; re-run pgduplex setup --adopt: it hands over first',
        });
      const changes = [
        ...(l.subscription ? [`drop the script's subscription ${p.subscription} (handed over, disabled)`] : []),
        ...(l.slot ? [`drop the script's replication slot ${p.slot} (nothing reads it)`] : []),
        ...(l.publication ? [`drop the script's publication ${p.publication}`] : []),
      ];
      const record = {
        database: p.database,
        ...(l.subscription ? { subscription: p.subscription } : {}),
        ...(l.slot ? { slot: p.slot } : {}),
        ...(l.publication ? { publication: l.publication } : {}),
      };
      return { changes, record, state: { p, l } };
    },
    async make({ state: { p, l } }) {
      const { cluster, t } = await env(p.database);
      const psql = (sql: string, vars: Record<string, string>) => runPsql(cluster, sql, { ...t, vars });
      if (l.subscription) await psql(DETACHED_DROP_SQL, { sub: p.subscription! });
      if (l.slot) await psql(DROP_IDLE_SLOT_SQL, { slot: p.slot! });
      if (l.publication) await psql(DROP_PUBLICATION_SQL, { pub: p.publication! });
    },
    async undo(r) {
      const out: string[] = [];
      if (r.publication?.allTables) {
        const { cluster, t } = await env(r.database);
        await runPsql(cluster, CREATE_ALL_TABLES_PUBLICATION_SQL, { ...t, vars: { pub: r.publication.name } });
        out.push(`re-created the publication ${r.publication.name} for all tables`);
      }
      const gone = [r.subscription, r.slot].filter((x) => x !== undefined);
      if (gone.length > 0)
        out.push(`${gone.join(' and ')} cannot be restored: pgduplex does not restore the script's replication`);
      return out;
    },
  });
};
