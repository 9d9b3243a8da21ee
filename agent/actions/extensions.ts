import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { extensionList } from '../../shared/protocol/facts.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { plannedChange } from './change.js';
import { extensionsChange } from '../../shared/protocol/data.js';
import type { AgentServices } from './context.js';

const READ_SQL = `select coalesce(json_agg(json_build_object('name', x.name, 'schema', x.schema, 'version', x.version,
    'installedSchema', n.nspname, 'installedVersion', e.extversion,
    'schemaExists', exists (select 1 from pg_namespace where nspname = x.schema),
    'available', exists (select 1 from pg_available_extension_versions v
      where v.name = x.name and v.version = x.version))
    order by x.name), '[]')
  from json_to_recordset(:'list'::json) as x(name text, schema text, version text)
  left join pg_extension e on e.extname = x.name left join pg_namespace n on n.oid = e.extnamespace`;

const CREATE_SQL = `begin;
select format('create extension %I with schema %I version %L', x.name, x.schema, x.version)
  from json_to_recordset(:'list'::json) as x(name text, schema text, version text) order by x.name \\gexec
commit;`;

type Found = {
  name: string;
  schema: string;
  version: string;
  installedSchema: string | null;
  installedVersion: string | null;
  schemaExists: boolean;
  available: boolean;
};
type Extension = z.output<typeof extensionList>[number];

/** Why an extension cannot be had here as the peer has it, or undefined when it is present or can be created. */
function refusal(f: Found, node: string): string | undefined {
  if (f.installedVersion !== null && f.installedSchema !== f.schema) {
    return `${f.name} is installed in schema ${f.installedSchema} on ${node}, not in ${f.schema} as on the peer`;
  }
  if (f.installedVersion !== null && f.installedVersion !== f.version) {
    return (
      `${f.name} is version ${f.installedVersion} on ${node}, ${f.version} on the peer ` +
      `(ALTER EXTENSION "${f.name}" UPDATE on the older one)`
    );
  }
  if (f.installedVersion !== null) return undefined;
  if (!f.available)
    return (
      `${f.name} version ${f.version} is not available on ${node} ` +
      '(install the package that provides it for this PostgreSQL)'
    );
  if (!f.schemaExists) return `${f.name} belongs in schema ${f.schema}, which ${node} does not have`;
  return undefined;
}

/**
 * `extensions`: the extensions the replicated schema depends on, created here as the peer has them
 * (name, schema, version) with this node's own CREATE EXTENSION, before its schema is imported. One
 * that is already here is left alone; undo drops only what this action created, and only while no
 * object depends on it.
 */
export const extensionsAction = (s: AgentServices) => {
  const opts = (database: string, list: readonly Extension[]) => ({
    timeoutMs: s.limits.toolTimeoutMs * 4,
    database,
    vars: { list: JSON.stringify(list) },
  });
  const missing = async (p: z.output<typeof extensionsChange.params>): Promise<Extension[]> => {
    const found = await queryJson<Found[]>(
      await resolveCluster(s.postgresql),
      READ_SQL,
      opts(p.database, p.extensions),
    );
    const problems = found.flatMap((f) => refusal(f, s.node) ?? []);
    if (problems.length > 0) {
      throw new PgduplexError(
        'EXTENSION_MISMATCH',
        `the replicated schema needs extensions ${s.node} cannot match: ${problems.join('; ')}`,
        {
          hint: 'fix that on this node, then re-run; nothing was changed',
        },
      );
    }
    return found
      .filter((f) => f.installedVersion === null)
      .map(({ name, schema, version }) => ({ name, schema, version }));
  };
  const describe = (e: Extension) => `create extension ${e.name} ${e.version} in schema ${e.schema} of the database`;
  return plannedChange(extensionsChange, {
    async plan(p) {
      const todo = await missing(p);
      return {
        changes: todo.map(describe),
        record: { database: p.database, created: todo },
        state: { database: p.database, todo },
      };
    },
    async make({ state: { database, todo } }) {
      await runPsql(await resolveCluster(s.postgresql), CREATE_SQL, opts(database, todo));
    },
    async undo(r) {
      const cluster = await resolveCluster(s.postgresql);
      const done: string[] = [];
      for (const e of r.created) {
        try {
          const drop = { timeoutMs: s.limits.toolTimeoutMs, database: r.database, vars: { name: e.name } };
          await runPsql(cluster, `drop extension if exists :"name"`, drop);
          done.push(`dropped extension ${e.name}`);
        } catch (err) {
          // Imported tables stay after a teardown, and their defaults still call the extension's functions.
          if (!(err instanceof PgduplexError && /depend/.test(err.message))) throw err;
          done.push(`kept extension ${e.name}: objects in ${r.database} depend on it`);
        }
      }
      return done;
    },
  });
};
