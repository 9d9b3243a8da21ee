import { PgduplexError } from '../../shared/errors.js';
import {
  columnsTouchAction,
  schemaHeldAction,
  schemaModelAction,
  schemaReleaseAction,
  subscriptionRefreshAction,
} from '../../shared/protocol/migrate.js';
import { RELEASE_SQL, TOUCH_SQL } from '../postgres/carry-sql.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { HELD_SQL, SCHEMA_MODEL_SQL } from '../postgres/schema-model-sql.js';
import type { AgentServices } from './context.js';
import { defineHandler, type ActionHandler } from './registry.js';

const SUB_TABLES_SQL = `select json_build_object('enabled', (select subenabled from pg_subscription
    where subname = :'sub' and subdbid = (select oid from pg_database where datname = current_database())),
  'tables', (select coalesce(json_agg(format('%s.%s', n.nspname, c.relname) order by 1), '[]')
    from pg_subscription_rel r join pg_subscription s on s.oid = r.srsubid join pg_class c on c.oid = r.srrelid
    join pg_namespace n on n.oid = c.relnamespace where s.subname = :'sub'))`;
const REFRESH_SQL = `select format('alter subscription %I refresh publication with (copy_data = %s)', :'sub',
  :'copy') \\gexec`;

/** The actions `pgduplex migrate` sequences besides the carry: the model, the hold, the touch and the refresh. */
export function migrateHandlers(s: AgentServices): ActionHandler[] {
  const t = (database: string) => ({ timeoutMs: s.limits.toolTimeoutMs, database });
  const cluster = () => resolveCluster(s.postgresql);
  return [
    defineHandler({
      descriptor: schemaModelAction,
      run: async ({ database, schema }) =>
        queryJson(await cluster(), SCHEMA_MODEL_SQL, { ...t(database), vars: { schema } }),
    }),
    defineHandler({
      descriptor: schemaHeldAction,
      run: async ({ database, schema }) => queryJson(await cluster(), HELD_SQL, { ...t(database), vars: { schema } }),
    }),
    defineHandler({
      descriptor: schemaReleaseAction,
      run: async ({ database, schema }) => {
        const out = await runPsql(await cluster(), RELEASE_SQL, { ...t(database), vars: { schema } });
        return { released: JSON.parse(out.trim().split('\n').pop() ?? '[]') as string[] };
      },
    }),
    defineHandler({
      descriptor: columnsTouchAction,
      run: async ({ database, schema, table, columns, onlyNull }, ctx) => {
        ctx.progress(`rewriting ${columns.join(', ')} of ${table} so the rows replicate`);
        const out = await runPsql(await cluster(), TOUCH_SQL, {
          timeoutMs: s.limits.toolTimeoutMs * 20,
          database,
          vars: { schema, table, columns: JSON.stringify(columns), only_null: String(onlyNull) },
        });
        return { rows: Number(out.trim().split('\n').pop() ?? 0) };
      },
    }),
    defineHandler({
      descriptor: subscriptionRefreshAction,
      run: async ({ database, name, copyData }) => {
        const c = await cluster();
        const read = () =>
          queryJson<{ enabled: boolean | null; tables: string[] }>(c, SUB_TABLES_SQL, {
            ...t(database),
            vars: { sub: name },
          });
        const before = await read();
        if (before.enabled === null)
          throw new PgduplexError('NOT_FOUND', `subscription ${name} does not exist in ${database} on ${s.node}`);
        if (!before.enabled)
          throw new PgduplexError(
            'REFUSED',
            `subscription ${name} on ${s.node} is disabled; a refresh needs it enabled`,
          );
        await runPsql(c, REFRESH_SQL, { ...t(database), vars: { sub: name, copy: String(copyData) } });
        const after = await read();
        return { added: after.tables.filter((x) => !before.tables.includes(x)) };
      },
    }),
  ];
}
