import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { plannedChange } from './change.js';
import { publicationChange } from '../../shared/protocol/replication-actions.js';
import type { AgentServices } from './context.js';
import { plainIdentifier as ident } from '../../shared/protocol/identifier.js';

const tableRef = z.strictObject({ schema: ident, name: ident });
const shape = z.union([
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ list: z.array(tableRef).min(1).max(10_000) }),
]);
type Shape = z.infer<typeof shape>;
type Current = { exists: false } | { exists: true; all: boolean; tables: Array<{ schema: string; name: string }> };

/** Reads the publication and its tables, or {exists: false}. */
export const PUBLICATION_READ_SQL = `select coalesce((select json_build_object('exists', true, 'all', p.puballtables,
    'tables', coalesce((select json_agg(json_build_object('schema', schemaname, 'name', tablename)
      order by schemaname, tablename) from pg_publication_tables where pubname = p.pubname), '[]'))
  from pg_publication p where p.pubname = :'pub'), json_build_object('exists', false))`;

// Statements are built server-side with format(%I) from psql variables and run with \\gexec: no
// identifier is ever spliced into SQL text by the agent.
// One line (it goes into a \\gexec line): split in the source only.
const TABLE_LIST =
  `(select string_agg(format('%I.%I', x.s, x.t), ', ' order by x.s, x.t) ` +
  `from json_to_recordset(:'tables'::json) as x(s text, t text))`;
const CREATE_SQL = (s: Shape) =>
  'all' in s
    ? `select format('create publication %I for all tables', :'pub') \\gexec`
    : s.list.length === 0
      ? `select format('create publication %I', :'pub') \\gexec`
      : `select format('create publication %I for table %s', :'pub', ${TABLE_LIST}) \\gexec`;
const SET_SQL = `select format('alter publication %I set table %s', :'pub', ${TABLE_LIST}) \\gexec`;
const DROP_SQL = `select format('drop publication if exists %I', :'pub') \\gexec`;

const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
const sameTables = (
  a: ReadonlyArray<{ schema: string; name: string }>,
  b: ReadonlyArray<{ schema: string; name: string }>,
) => a.map(key).sort().join(',') === b.map(key).sort().join(',');

function differs(cur: Current, want: Shape): boolean {
  if (!cur.exists) return true;
  if ('all' in want) return !cur.all;
  return cur.all || !sameTables(cur.tables, want.list);
}

function describeShape(s: Shape): string {
  return 'all' in s
    ? 'for all tables'
    : `for ${s.list.length} table${s.list.length === 1 ? '' : 's'} ` +
        `(${s.list.slice(0, 5).map(key).join(', ')}${s.list.length > 5 ? ', …' : ''})`;
}

/**
 * `publication`: ensures a publication exists with exactly the wanted tables (all, or a list that
 * leaves out tables no replica identity can serve). Undo drops what it created or restores the old set.
 */
export const publicationAction = (s: AgentServices) => {
  const ctx = async (database: string, pub: string) => ({
    cluster: await resolveCluster(s.postgresql),
    opts: { timeoutMs: s.limits.toolTimeoutMs, database, vars: { pub } },
  });
  const read = async (database: string, pub: string): Promise<Current> => {
    const { cluster, opts } = await ctx(database, pub);
    return queryJson<Current>(cluster, PUBLICATION_READ_SQL, opts);
  };
  const write = async (database: string, pub: string, target: Shape | null, current: Current): Promise<void> => {
    const { cluster, opts } = await ctx(database, pub);
    const tables =
      target && 'list' in target ? JSON.stringify(target.list.map((t) => ({ s: t.schema, t: t.name }))) : '[]';
    const o = { ...opts, vars: { pub, tables } };
    if (target === null) await runPsql(cluster, DROP_SQL, o);
    else if (!current.exists) await runPsql(cluster, CREATE_SQL(target), o);
    else if ('all' in target || current.all || target.list.length === 0)
      await runPsql(cluster, `begin;\n${DROP_SQL}\n${CREATE_SQL(target)}\ncommit;`, o);
    else await runPsql(cluster, SET_SQL, o);
  };
  return plannedChange(publicationChange, {
    async plan({ database, name, tables }) {
      const before = await read(database, name);
      return {
        changes: differs(before, tables)
          ? [`${before.exists ? 'change' : 'create'} publication ${name} in ${database} ${describeShape(tables)}`]
          : [],
        record: { database, name, before },
        state: { database, name, tables, before },
      };
    },
    async make({ state: { database, name, tables, before } }, rollback) {
      await write(database, name, tables, before);
      const after = await read(database, name);
      if (!differs(after, tables)) return;
      await rollback(() =>
        write(database, name, before.exists ? (before.all ? { all: true } : { list: before.tables }) : null, after),
      );
      throw new PgduplexError(
        'PG_QUERY_FAILED',
        `publication ${name} does not read back as requested; it was put back as it was`,
      );
    },
    async undo(r) {
      const before = r.before as Current;
      const now = await read(r.database, r.name);
      if (!before.exists) {
        await write(r.database, r.name, null, now);
        return [`dropped publication ${r.name} in ${r.database}`];
      }
      const target: Shape = before.all ? { all: true } : { list: before.tables };
      await write(r.database, r.name, target, now);
      return [`restored publication ${r.name} in ${r.database} ${describeShape(target)}`];
    },
  });
};
