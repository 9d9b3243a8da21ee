import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { plannedChange } from './change.js';
import { replicaIdentityChange } from '../../shared/protocol/replication-actions.js';
import type { AgentServices } from './context.js';

// relreplident: d default (primary key), n nothing, f full, i an index (named by indisreplident).
const READ_SQL = `select coalesce(json_agg(json_build_object('schema', x.s, 'name', x.n,
    'identity', c.relreplident::text,
    'index', (select i.relname from pg_index ix join pg_class i on i.oid = ix.indexrelid
      where ix.indrelid = c.oid and ix.indisreplident))), '[]')
  from json_to_recordset(:'tables'::json) as x(s text, n text)
  join pg_namespace ns on ns.nspname = x.s
  join pg_class c on c.relnamespace = ns.oid and c.relname = x.n and c.relkind in ('r', 'p')`;

const SET_SQL = `begin;
select case x.identity when 'f' then format('alter table %I.%I replica identity full', x.s, x.n)
  when 'n' then format('alter table %I.%I replica identity nothing', x.s, x.n)
  when 'i' then format('alter table %I.%I replica identity using index %I', x.s, x.n, x.idx)
  else format('alter table %I.%I replica identity default', x.s, x.n) end
from json_to_recordset(:'plan'::json) as x(s text, n text, identity text, idx text) \\gexec
commit;`;

type Identity = { schema: string; name: string; identity: string; index: string | null };
type Step = { s: string; n: string; identity: string; idx: string | null };

/**
 * `replica-identity`: the remedy for tables without a key — REPLICA IDENTITY FULL, so their UPDATE and
 * DELETE can be published (each then carries the whole old row). Undo restores each table's previous identity.
 */
export const replicaIdentityAction = (s: AgentServices) => {
  const opts = (database: string, vars: Record<string, string>) => ({
    timeoutMs: s.limits.toolTimeoutMs * 4,
    database,
    vars,
  });
  const lookup = async (database: string, tables: Array<{ s: string; n: string }>) =>
    queryJson<Identity[]>(
      await resolveCluster(s.postgresql),
      READ_SQL,
      opts(database, { tables: JSON.stringify(tables) }),
    );
  const read = async (p: z.output<typeof replicaIdentityChange.params>): Promise<Identity[]> => {
    const found = await lookup(
      p.database,
      p.tables.map((t) => ({ s: t.schema, n: t.name })),
    );
    const missing = p.tables.filter((t) => !found.some((f) => f.schema === t.schema && f.name === t.name));
    if (missing.length > 0)
      throw new PgduplexError(
        'NOT_FOUND',
        `no such table in ${p.database}: ${missing.map((t) => `${t.schema}.${t.name}`).join(', ')}`,
      );
    return found;
  };
  const run = async (database: string, plan: Step[]) =>
    runPsql(await resolveCluster(s.postgresql), SET_SQL, opts(database, { plan: JSON.stringify(plan) }));
  type Wanted = z.output<typeof replicaIdentityChange.params>['tables'][number];
  const wantedOf = (p: { tables: Wanted[] }, t: Identity) =>
    p.tables.find((w) => w.schema === t.schema && w.name === t.name)?.index;
  const pending = (list: Identity[], p: { tables: Wanted[] }) =>
    list.filter((t) => {
      const index = wantedOf(p, t);
      return index === undefined ? t.identity !== 'f' : t.identity !== 'i' || t.index !== index;
    });
  const describe = (t: Identity, index: string | undefined) => {
    const was =
      ({ d: 'default', n: 'nothing', i: `index ${t.index}` } as Record<string, string>)[t.identity] ?? t.identity;
    return `${t.schema}.${t.name}: replica identity ${was} -> ${index === undefined ? 'full' : `index ${index}`}`;
  };

  return plannedChange(replicaIdentityChange, {
    async plan(p) {
      const todo = pending(await read(p), p).map((t) => ({ ...t, wanted: wantedOf(p, t) }));
      return {
        changes: todo.map((t) => describe(t, t.wanted)),
        record: {
          database: p.database,
          before: todo.map((t) => ({ s: t.schema, n: t.name, identity: t.identity, idx: t.index })),
        },
        state: { database: p.database, todo },
      };
    },
    async make({ state: { database, todo } }) {
      await run(
        database,
        todo.map((t) => ({
          s: t.schema,
          n: t.name,
          identity: t.wanted === undefined ? 'f' : 'i',
          idx: t.wanted ?? null,
        })),
      );
    },
    async undo(r) {
      // A table dropped since has no identity to restore.
      const exists = await lookup(r.database, r.before);
      const plan = r.before.filter((b) => exists.some((t) => t.schema === b.s && t.name === b.n));
      if (plan.length > 0) await run(r.database, plan);
      return plan.map((b) => {
        const back =
          b.identity === 'i'
            ? `index ${b.idx}`
            : (({ d: 'default', n: 'nothing' } as Record<string, string>)[b.identity] ?? b.identity);
        return `${b.s}.${b.n}: replica identity back to ${back}`;
      });
    },
  });
};
