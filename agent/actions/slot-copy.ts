import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import { slotCopyChange } from '../../shared/protocol/adopt.js';
import { compareLsn } from '../../shared/replication.js';
import { COPY_SLOT_SQL, DROP_IDLE_SLOT_SQL, SLOT_STATE_SQL } from '../postgres/adopt-sql.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';

type SlotState = {
  walLsn: string;
  from: { database: string | null; plugin: string | null; active: boolean; confirmed: string | null } | null;
  to: { database: string | null; active: boolean } | null;
};

/** How long the script's slot may take to confirm past the LSN the copy waits for (its subscription streams). */
const CONFIRM_WAIT_MS = 120_000;

/**
 * `slot-copy`: copies the slot the script's subscription reads into pgduplex's, after that slot has confirmed
 * everything written before the copy began, pgduplex's publication included (a walsender decoding from before the
 * publication existed would not find it). The copy starts where the script's slot stands: nothing is skipped.
 */
export const slotCopyAction = (s: AgentServices) => {
  const env = async (database: string) => ({
    cluster: await resolveCluster(s.postgresql),
    t: { timeoutMs: s.limits.toolTimeoutMs, database },
  });
  const read = async (p: { database: string; from: string; to: string }) => {
    const { cluster, t } = await env(p.database);
    return queryJson<SlotState>(cluster, SLOT_STATE_SQL, { ...t, vars: { from: p.from, to: p.to } });
  };
  return plannedChange(slotCopyChange, {
    async plan(p) {
      const st = await read(p);
      const record = { database: p.database, slot: p.to };
      if (st.to !== null) {
        if (st.to.database !== p.database)
          throw new PgduplexError('REFUSED', `slot ${p.to} exists for another database (${st.to.database})`);
        return { changes: [], record, state: p };
      }
      if (st.from === null)
        throw new PgduplexError('REFUSED', `there is no replication slot ${p.from} to copy ${p.to} from`, {
          hint: 'nothing was changed; pgduplex status / setup --adopt --dry-run show what the pair holds',
        });
      if (st.from.database !== p.database || st.from.plugin !== 'pgoutput')
        throw new PgduplexError(
          'REFUSED',
          `slot ${p.from} is not a logical replication slot of ${p.database} (database ${st.from.database}, ` +
            `plugin ${st.from.plugin})`,
          { hint: 'nothing was changed' },
        );
      return { changes: [`copy replication slot ${p.from} to ${p.to} in ${p.database}`], record, state: p };
    },
    async make({ state: p }) {
      const { cluster, t } = await env(p.database);
      const goal = (await read(p)).walLsn;
      let at: string | null = null;
      await poll(
        async () => {
          at = (await read(p)).from?.confirmed ?? null;
          return at !== null && compareLsn(at, goal) >= 0 ? true : undefined;
        },
        {
          timeoutMs: CONFIRM_WAIT_MS,
          intervalMs: 200,
          expired: () => {
            throw new PgduplexError(
              'TIMEOUT',
              `slot ${p.from} did not confirm up to ${goal} within ${CONFIRM_WAIT_MS / 1000} s (it stands at ` +
                `${at ?? 'nothing'}): its subscriber does not stream`,
              { hint: "nothing was changed; check the script's subscription on the other node, then re-run" },
            );
          },
        },
      );
      await runPsql(cluster, COPY_SLOT_SQL, { ...t, vars: { from: p.from, to: p.to } });
    },
    async undo(r) {
      const { cluster, t } = await env(r.database);
      const slot = (await read({ database: r.database, from: '', to: r.slot })).to;
      if (slot === null) return [];
      if (slot.active)
        return [`slot ${r.slot} is in use by a subscriber, so it was kept; drop it once nothing reads it`];
      await runPsql(cluster, DROP_IDLE_SLOT_SQL, { ...t, vars: { slot: r.slot } });
      return [`dropped replication slot ${r.slot}`];
    },
  });
};
