import type { AgentServices } from './context.js';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { psqlSet, quoteIdent } from '../postgres/hba-names.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { scramVerifier, verifierMatches } from '../postgres/scram.js';
import { QUIET, REVOKE_REST_SQL, scrub, sqlText } from '../postgres/role-sql.js';
import { plannedChange } from './change.js';
import { pgRoleChange } from '../../shared/protocol/postgres.js';

type Params = z.output<typeof pgRoleChange.params>;

type UndoRecord = z.output<typeof pgRoleChange.record>;

interface RoleState {
  exists: boolean;
  superuser: boolean;
  login: boolean;
  replication: boolean;
  password: string | null;
}
interface GrantState {
  database: string;
  schema: string;
  usage: boolean;
  tables: string[];
}

/**
 * `pg-role`: the replication role (LOGIN REPLICATION, never SUPERUSER) with a password sent to the
 * server only as a SCRAM-SHA-256 verifier computed here, plus optional SELECT grants for the initial
 * copy. Undo drops a role it created; a replaced password cannot be put back (its hash is not kept).
 */
export const pgRoleAction = (s: AgentServices) => {
  const opts = { timeoutMs: s.limits.toolTimeoutMs };

  const readRole = (c: Cluster, role: string) =>
    queryJson<RoleState>(
      c,
      `${psqlSet('role', role)}select json_build_object('exists', count(*) > 0,
         'superuser', coalesce(bool_or(rolsuper), false), 'login', coalesce(bool_or(rolcanlogin), false),
         'replication', coalesce(bool_or(rolreplication), false), 'password', max(rolpassword))
         from pg_authid where rolname = :'role'`,
      opts,
    );

  const readGrants = async (c: Cluster, role: string, g: { database: string; schema: string }): Promise<GrantState> => {
    const found = await queryJson<boolean>(
      c,
      `${psqlSet('db', g.database)}select to_json(exists (select from pg_database where datname = :'db'))`,
      opts,
    );
    if (!found)
      throw new PgduplexError('NOT_FOUND', `database ${g.database} does not exist`, {
        hint: 'grantSelectOn.database must name an existing database',
      });
    const s = await queryJson<{ schema: boolean; usage: boolean; tables: string[] }>(
      c,
      `${psqlSet('role', role)}${psqlSet('schema', g.schema)}
       with r as (select (select oid from pg_roles where rolname = :'role') as oid),
         n as (select oid from pg_namespace where nspname = :'schema')
       select json_build_object('schema', exists (select from n),
         'usage', coalesce((select case when r.oid is null then has_schema_privilege('public', n.oid, 'USAGE')
           else has_schema_privilege(r.oid, n.oid, 'USAGE') end from r, n), false),
         'tables', coalesce((select json_agg(c.relname order by c.relname) from pg_class c, r, n
            where c.relnamespace = n.oid and c.relkind in ('r', 'p')
            and not case when r.oid is null then has_table_privilege('public', c.oid, 'SELECT')
              else has_table_privilege(r.oid, c.oid, 'SELECT') end), '[]'))`,
      { ...opts, database: g.database },
    );
    if (!s.schema)
      throw new PgduplexError('NOT_FOUND', `schema ${g.schema} does not exist in database ${g.database}`, {
        hint: 'grantSelectOn.schema must name an existing schema',
      });
    return { ...g, usage: s.usage, tables: s.tables };
  };

  const plan = async (params: Params) => {
    const cluster = await resolveCluster(s.postgresql);
    const state = await readRole(cluster, params.role);
    if (state.superuser) {
      throw new PgduplexError(
        'REFUSED',
        `role ${params.role} is a superuser; pgduplex will not use or demote it as the replication role`,
        {
          hint: 'choose a dedicated role name (e.g. pgduplex_repl)',
        },
      );
    }
    const addedAttributes = state.exists
      ? (['LOGIN', 'REPLICATION'] as const).filter((a) => !(a === 'LOGIN' ? state.login : state.replication))
      : [];
    const passwordChanged = !state.exists || !(await verifierMatches(params.password, state.password));
    const grants = params.grantSelectOn && (await readGrants(cluster, params.role, params.grantSelectOn));
    const todo: UndoRecord = {
      role: params.role,
      created: !state.exists,
      addedAttributes,
      passwordChanged,
      ...(grants ? { grants: { ...grants, usage: !grants.usage } } : {}),
    };
    return { cluster, todo, changes: describe(todo) };
  };

  const applyRole = async (c: Cluster, params: Params, todo: UndoRecord): Promise<void> => {
    const role = psqlSet('role', params.role);
    const verifier = todo.passwordChanged ? await scramVerifier(params.password) : undefined;
    const sql = todo.created
      ? `CREATE ROLE :"role" LOGIN REPLICATION NOSUPERUSER PASSWORD :'verifier';`
      : [
          todo.addedAttributes.length > 0 ? `ALTER ROLE :"role" ${todo.addedAttributes.join(' ')};` : '',
          verifier ? `ALTER ROLE :"role" PASSWORD :'verifier';` : '',
        ].join('\n');
    try {
      await runPsql(
        c,
        `${role}${verifier ? psqlSet('verifier', verifier) : ''}${QUIET}BEGIN;\n${sql}\nCOMMIT;\n`,
        opts,
      );
    } catch (err) {
      throw scrub(err, [params.password, verifier]);
    }
  };

  const applyGrants = async (
    c: Cluster,
    role: string,
    g: NonNullable<UndoRecord['grants']>,
    revoke: boolean,
  ): Promise<void> => {
    const [verb, dir] = revoke ? ['REVOKE', 'FROM'] : ['GRANT', 'TO'];
    const tables = g.tables.map((t) => `${quoteIdent(g.schema)}.${quoteIdent(t)}`);
    const sql = [
      g.usage ? `${verb} USAGE ON SCHEMA :"schema" ${dir} :"role";` : '',
      tables.length > 0 ? `${verb} SELECT ON TABLE ${tables.join(', ')} ${dir} :"role";` : '',
    ].join('\n');
    await runPsql(c, `${psqlSet('role', role)}${psqlSet('schema', g.schema)}BEGIN;\n${sql}\nCOMMIT;\n`, {
      ...opts,
      database: g.database,
    });
  };

  const undo = async (c: Cluster, rec: UndoRecord): Promise<string[]> => {
    const done: string[] = [];
    const state = await readRole(c, rec.role);
    if (rec.grants && state.exists && (rec.grants.usage || rec.grants.tables.length > 0)) {
      const still = await queryJson<string[]>(
        c,
        `${psqlSet('schema', rec.grants.schema)}select coalesce(json_agg(relname), '[]') from pg_class
          where relnamespace = (select oid from pg_namespace where nspname = :'schema')
          and relname = any(array[${rec.grants.tables.map(sqlText).join(', ') || "''"}])`,
        { ...opts, database: rec.grants.database },
      );
      const g = { ...rec.grants, tables: rec.grants.tables.filter((t) => still.includes(t)) };
      await applyGrants(c, rec.role, g, true);
      done.push(
        `revoked SELECT on ${g.tables.length} tables in ${g.database}.${g.schema}` +
          `${g.usage ? ' and USAGE on the schema' : ''} from ${rec.role}`,
      );
    }
    if (rec.created && state.exists) {
      // Grants others made to the role pgduplex created (a schema copied from the peer carries them) would block the
      // drop.
      if (rec.grants)
        await runPsql(c, `${psqlSet('role', rec.role)}${psqlSet('schema', rec.grants.schema)}${REVOKE_REST_SQL}`, {
          ...opts,
          database: rec.grants.database,
        });
      await runPsql(c, `${psqlSet('role', rec.role)}DROP ROLE :"role";`, opts).catch((err: unknown) => {
        if (!(err instanceof PgduplexError) || !err.message.includes('depend')) throw err;
        throw new PgduplexError(err.code, err.message, {
          hint:
            `undo later pgduplex changes that use ${rec.role} first (subscriptions, grants), ` +
            `or REASSIGN OWNED BY / DROP OWNED BY ${rec.role} in each database`,
        });
      });
      done.push(`dropped role ${rec.role}`);
    } else if (state.exists && rec.addedAttributes.length > 0) {
      await runPsql(
        c,
        `${psqlSet('role', rec.role)}ALTER ROLE :"role" ${rec.addedAttributes.map((a) => `NO${a}`).join(' ')};`,
        opts,
      );
      done.push(`removed ${rec.addedAttributes.join(', ')} from role ${rec.role}`);
    }
    if (!rec.created && rec.passwordChanged)
      done.push(
        `not restored: the previous password of ${rec.role} (its verifier is deliberately not journaled); ` +
          'the new one stays',
      );
    return done;
  };

  return plannedChange(pgRoleChange, {
    async plan(params) {
      const { cluster, todo, changes } = await plan(params);
      // The password stays in memory for make: never in the record, the words or an error.
      return { changes, record: todo, state: { cluster, params, todo } };
    },
    async make({ state: { cluster, params, todo } }, rollback) {
      const attempted: UndoRecord = { role: todo.role, created: false, addedAttributes: [], passwordChanged: false };
      try {
        if (todo.created || todo.passwordChanged || todo.addedAttributes.length > 0) {
          await applyRole(cluster, params, todo);
          Object.assign(attempted, { created: todo.created, addedAttributes: todo.addedAttributes });
        }
        if (todo.grants && (todo.grants.usage || todo.grants.tables.length > 0)) {
          await applyGrants(cluster, params.role, todo.grants, false);
          attempted.grants = todo.grants;
        }
        const left = (await plan(params)).changes;
        if (left.length > 0)
          throw new PgduplexError(
            'PG_QUERY_FAILED',
            `role ${params.role} does not read back as applied: still to do: ${left.join('; ')}`,
          );
      } catch (err) {
        await rollback(() => undo(cluster, attempted));
        throw err;
      }
      return todo.passwordChanged && !todo.created ? { notes: ['undo cannot restore the previous password'] } : {};
    },
    async undo(rec) {
      return undo(await resolveCluster(s.postgresql), rec);
    },
  });
};

function describe(t: UndoRecord): string[] {
  const g = t.grants;
  const few = (names: string[]) => (names.length > 5 ? `${names.slice(0, 5).join(', ')}, …` : names.join(', '));
  return [
    ...(t.created ? [`create role ${t.role} (LOGIN REPLICATION, not superuser) with a SCRAM-SHA-256 password`] : []),
    ...(t.addedAttributes.length > 0 ? [`role ${t.role}: add ${t.addedAttributes.join(', ')}`] : []),
    ...(t.passwordChanged && !t.created ? [`role ${t.role}: set a new SCRAM-SHA-256 password`] : []),
    ...(g?.usage ? [`grant USAGE on schema ${g.database}.${g.schema} to ${t.role}`] : []),
    ...(g && g.tables.length > 0
      ? [`grant SELECT on ${g.tables.length} tables in ${g.database}.${g.schema} to ${t.role}: ${few(g.tables)}`]
      : []),
  ];
}
