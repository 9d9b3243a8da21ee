import { replGrantChange } from '../../shared/protocol/migrate.js';
import { REPL_ROLE } from '../../shared/replication.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';

const MISSING_SQL = `set search_path = pg_catalog;
select coalesce(json_agg(t order by t), '[]') from json_array_elements_text(:'tables'::json) t
  where to_regclass(format('%I.%I', :'schema', t)) is not null and exists (select from pg_roles where rolname = :'role')
    and not has_table_privilege(:'role', format('%I.%I', :'schema', t), 'SELECT')`;
const GRANT_SQL = (verb: 'grant' | 'revoke') => `set search_path = pg_catalog;
select format('${verb} select on %I.%I ${verb === 'grant' ? 'to' : 'from'} %I', :'schema', t, :'role')
  from json_array_elements_text(:'tables'::json) t
  where to_regclass(format('%I.%I', :'schema', t)) is not null \\gexec`;

/** `repl-grant`: SELECT on the named tables for the replication role, where it lacks it; undo revokes those. */
export const replGrantAction = (s: AgentServices) => {
  const run = async (sql: string, database: string, schema: string, tables: readonly string[]) =>
    runPsql(await resolveCluster(s.postgresql), sql, {
      timeoutMs: s.limits.toolTimeoutMs,
      database,
      vars: { schema, role: REPL_ROLE, tables: JSON.stringify(tables) },
    });
  return plannedChange(replGrantChange, {
    async plan({ database, schema, tables }) {
      const missing = await queryJson<string[]>(await resolveCluster(s.postgresql), MISSING_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database,
        vars: { schema, role: REPL_ROLE, tables: JSON.stringify(tables) },
      });
      return {
        changes: missing.map((t) => `grant ${REPL_ROLE} SELECT on ${schema}.${t}`),
        record: { database, schema, tables: missing },
        state: { database, schema, missing },
      };
    },
    async make({ state: { database, schema, missing } }) {
      await run(GRANT_SQL('grant'), database, schema, missing);
    },
    async undo({ database, schema, tables }) {
      await run(GRANT_SQL('revoke'), database, schema, tables);
      return tables.map((t) => `revoked ${REPL_ROLE}'s SELECT on ${schema}.${t}`);
    },
  });
};
