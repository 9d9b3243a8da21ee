import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { interleave, isInterleaved, SEQUENCES_SQL, type SequenceState } from '../postgres/sequences.js';
import { plannedChange } from './change.js';
import { sequencesChange, sequencesStatusAction } from '../../shared/protocol/replication-actions.js';
import { defineHandler } from './registry.js';
import type { AgentServices } from './context.js';

const SET_SQL = `begin;
select format('alter sequence %I.%I increment by %s', x.s, x.n, x.inc)
  from json_to_recordset(:'seqs'::json) as x(s text, n text, inc bigint, next bigint) \\gexec
select count(setval(format('%I.%I', x.s, x.n)::regclass, x.next, false))
  from json_to_recordset(:'seqs'::json) as x(s text, n text, inc bigint, next bigint);
commit;`;

type Plan = { s: string; n: string; inc: number; next: number };
const label = (q: SequenceState) => `${q.schema}.${q.name}${q.owner ? ` (${q.owner})` : ''}`;

/**
 * `sequences`: makes this node's sequence-fed keys disjoint from the peer's — every sequence steps by
 * `step` and hands out only values ≡ `slot` (mod step), above what exists. Undo restores each step
 * but never moves a sequence back below a value it may already have handed out.
 */
export const sequencesAction = (s: AgentServices) => {
  const read = async (database: string): Promise<SequenceState[]> => {
    const list = await queryJson<SequenceState[]>(await resolveCluster(s.postgresql), SEQUENCES_SQL, {
      timeoutMs: s.limits.toolTimeoutMs * 10,
      database,
    });
    const big = list.find((q) => !Number.isSafeInteger(q.next) || !Number.isSafeInteger(q.columnMax));
    if (big)
      throw new PgduplexError('REFUSED', `sequence ${label(big)} is beyond 2^53; pgduplex cannot plan it exactly`, {
        hint: 'adjust it by hand',
      });
    return list;
  };
  const run = async (database: string, plan: Plan[]) =>
    runPsql(await resolveCluster(s.postgresql), SET_SQL, {
      timeoutMs: s.limits.toolTimeoutMs,
      database,
      vars: { seqs: JSON.stringify(plan) },
    });
  const pending = (list: SequenceState[], p: z.output<typeof sequencesChange.params>) =>
    list.filter((q) => !(p.exclude ?? []).includes(`${q.schema}.${q.name}`) && !isInterleaved(q, p.step, p.slot));

  return plannedChange(sequencesChange, {
    async plan(p) {
      const todo = pending(await read(p.database), p).map((q) => ({ q, t: interleave(q, p.step, p.slot) }));
      return {
        changes: todo.map(
          ({ q, t }) =>
            `${label(q)}: increment ${q.increment} -> ${t.increment}, next ${q.next} -> ${t.next} ` +
            `(values ≡ ${p.slot % p.step} mod ${p.step})`,
        ),
        record: { database: p.database, before: todo.map(({ q }) => ({ s: q.schema, n: q.name, inc: q.increment })) },
        state: {
          database: p.database,
          plan: todo.map(({ q, t }): Plan => ({ s: q.schema, n: q.name, inc: t.increment, next: t.next })),
        },
      };
    },
    async make({ state }) {
      await run(state.database, state.plan);
    },
    async undo(r) {
      const now = await read(r.database);
      const plan = r.before.flatMap((b) => {
        const q = now.find((x) => x.schema === b.s && x.name === b.n);
        return q ? [{ s: b.s, n: b.n, inc: b.inc, next: Math.max(q.columnMax, q.next - 1) + 1 }] : [];
      });
      if (plan.length > 0) await run(r.database, plan);
      return plan.map((x) => `${x.s}.${x.n}: increment back to ${x.inc}, next ${x.next}`);
    },
  });
};

/** Read-only: every sequence with its step, next value and the largest key in its column, for verify. */
export const sequencesStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: sequencesStatusAction,
    run: async ({ database }) =>
      queryJson(await resolveCluster(s.postgresql), SEQUENCES_SQL, {
        timeoutMs: s.limits.toolTimeoutMs * 10,
        database,
      }),
  });
