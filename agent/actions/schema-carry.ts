import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { schemaCarryChange, type CarriedObjects } from '../../shared/protocol/migrate.js';
import { ensureBackupRoot } from '../backup/backup-root.js';
import { dumpToFile } from '../backup/pg-dump.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { psqlHasRestrict, restrictedScript } from '../postgres/dump-text.js';
import { handOver, importViolations, localOwner } from '../postgres/import-check.js';
import { createImportRole, dropImportRole, psqlVersion, runAsImportRole } from '../postgres/import-role.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import {
  CREATES_PRESENT_SQL,
  GUARD_SQL,
  HOLD_FUNCTION_SQL,
  LEND_SQL,
  LEND_STATE_SQL,
  RETURN_SQL,
  UNDO_CARRY_SQL,
  UNGUARD_SQL,
} from '../postgres/carry-sql.js';
import { HOLD_NAME } from '../postgres/schema-model-sql.js';
import { quoteIdent } from '../postgres/hba-names.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';

type Params = z.output<typeof schemaCarryChange.params>;
interface Kept {
  columns: string[];
  triggers: string;
  identity: string;
}
interface LendState {
  missing: string[];
  owners: Record<string, string>;
  acl: Record<string, string>;
  kept: Record<string, Kept>;
}

/**
 * What the carried DDL took from the operator's tables it was lent, which no carry may do: a table or column gone (its
 * data with it), a trigger enabled or disabled, a replica identity of NOTHING (the table's UPDATEs would stop).
 */
export function takenFromLent(before: LendState, after: LendState): string[] {
  return Object.entries(before.kept).flatMap(([table, was]) => {
    const now = after.kept[table];
    if (!now) return [`table ${table} was dropped or renamed`];
    const gone = was.columns.filter((c) => !now.columns.includes(c));
    return [
      ...(gone.length > 0 ? [`${table}: columns dropped or renamed: ${gone.join(', ')}`] : []),
      ...(now.triggers !== was.triggers ? [`${table}: its triggers changed`] : []),
      ...(now.identity === 'n' && was.identity !== 'n' ? [`${table}: replica identity set to NOTHING`] : []),
      ...(after.acl[table] !== before.acl[table] ? [`${table}: its grants changed`] : []),
    ];
  });
}

/** The psql variables that name a carry's objects. */
const objectVars = (schema: string, c: CarriedObjects) => ({
  schema,
  tables: JSON.stringify(c.tables),
  sequences: JSON.stringify(c.sequences),
  indexes: JSON.stringify(c.indexes),
  columns: JSON.stringify(c.columns),
  constraints: JSON.stringify(c.constraints),
});

/**
 * `schema-carry`: the other node's schema change replayed here. The DDL runs restricted, in one transaction, as the
 * temporary import role, with the operator's tables it alters lent to that role (their owners written into the
 * role's comment first, so even a leftover gives them back); what it made is checked as the superuser before it is
 * kept, the tables go back to their owners and the new objects to the schema's. New tables carry a hold trigger from
 * the same transaction on. The undo drops exactly what it created, after a dump of the schema.
 */
export const schemaCarryAction = (s: AgentServices) => {
  const t = (database: string) => ({ timeoutMs: s.limits.toolTimeoutMs, database });
  const lendState = (cluster: Cluster, p: Params) =>
    queryJson<LendState>(cluster, LEND_STATE_SQL, {
      ...t(p.database),
      vars: { schema: p.schema, tables: JSON.stringify(p.lend) },
    });
  const dropCreated = async (cluster: Cluster, database: string, schema: string, c: CarriedObjects) => {
    await runPsql(cluster, UNDO_CARRY_SQL, { ...t(database), vars: objectVars(schema, c) });
  };
  const undo = async (r: z.output<typeof schemaCarryChange.record>): Promise<string[]> => {
    const cluster = await resolveCluster(s.postgresql);
    await dropImportRole(cluster, r.database, s.limits.toolTimeoutMs);
    await ensureBackupRoot(s.backupRoot);
    const dir = join(s.backupRoot, `carry-undo-${new Date().toISOString().replace(/[:.]/g, '')}`);
    await mkdir(dir, { mode: 0o700 });
    const file = join(dir, `${r.database}.dump`);
    await dumpToFile(cluster, { database: r.database, schema: r.schema }, file, () => undefined);
    await dropCreated(cluster, r.database, r.schema, r.creates);
    const n = (xs: unknown[], what: string) => (xs.length > 0 ? [`${xs.length} ${what}`] : []);
    const c = r.creates;
    const what = [
      ...n(c.tables, 'tables'),
      ...n(c.columns, 'columns'),
      ...n(c.indexes, 'indexes'),
      ...n(c.constraints, 'constraints'),
      ...n(c.sequences, 'sequences'),
    ];
    return [
      `dropped what the carried schema change created (${what.join(', ') || 'nothing'}); dumped first to ${file}`,
    ];
  };
  return plannedChange(schemaCarryChange, {
    // A carry is new each time (its DDL is not a state to compare with): make checks what it made instead.
    oneShot: true,
    async plan(p) {
      const cluster = await resolveCluster(s.postgresql);
      const present = await queryJson<string[]>(cluster, CREATES_PRESENT_SQL, {
        ...t(p.database),
        vars: objectVars(p.schema, p.creates),
      });
      const { missing } = await lendState(cluster, p);
      if (missing.length > 0)
        throw new PgduplexError('REFUSED', `the schema change alters tables ${s.node} lacks: ${missing.join(', ')}`, {
          hint: 're-run pgduplex migrate: it plans again from both nodes’ schemas',
        });
      if (present.length > 0)
        throw new PgduplexError(
          'REFUSED',
          `part of the schema change is on ${s.node} already: ${present.slice(0, 5).join(', ')}`,
          { hint: 're-run pgduplex migrate: it plans again from both nodes’ schemas' },
        );
      const peer = s.trust.peer?.node ?? 'the peer';
      return {
        changes: p.summary.map((x) => `${x} (as ${peer} has it)`),
        record: { database: p.database, schema: p.schema, creates: p.creates },
        state: { cluster, p },
      };
    },
    async make({ state: { cluster, p } }, rollback, ctx) {
      const timeoutMs = s.limits.toolTimeoutMs;
      const version = await psqlVersion(cluster);
      if (!psqlHasRestrict(version))
        throw new PgduplexError('TOOL_MISSING', `psql ${version} cannot run a script restricted (no \\restrict)`, {
          hint: `upgrade postgresql-client-${cluster.version}`,
        });
      // A leftover import role gives back what it was lent before anything else happens.
      await dropImportRole(cluster, p.database, timeoutMs);
      const before = await lendState(cluster, p);
      const to = await localOwner(cluster, p.database, undefined, timeoutMs);
      if (p.hold.length > 0)
        await runPsql(cluster, HOLD_FUNCTION_SQL, { ...t(p.database), vars: { schema: p.schema } });
      const login = await createImportRole(cluster, p.database, p.schema, timeoutMs, before.owners);
      const lentVars = { schema: p.schema, tables: JSON.stringify(p.lend) };
      const giveBack = () =>
        runPsql(cluster, RETURN_SQL, { ...t(p.database), vars: { owners: JSON.stringify(before.owners) } });
      const fail = async (err: unknown, created: boolean): Promise<never> => {
        if (created) await rollback(() => dropCreated(cluster, p.database, p.schema, p.creates).then(() => []));
        await dropImportRole(cluster, p.database, timeoutMs).catch(() => undefined);
        throw err;
      };
      const holds = p.hold.map(
        (h) =>
          `CREATE TRIGGER ${HOLD_NAME} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${p.schema}.${quoteIdent(h)} ` +
          `FOR EACH STATEMENT EXECUTE FUNCTION ${p.schema}.${HOLD_NAME}();`,
      );
      try {
        await runPsql(cluster, LEND_SQL, { ...t(p.database), vars: lentVars });
      } catch (err) {
        return fail(err, false);
      }
      ctx?.progress(`applying ${p.summary.length} schema changes in one transaction`);
      const guard = { ...t(p.database), vars: { schema: p.schema } };
      let failed: { err: unknown } | undefined;
      try {
        await runPsql(cluster, GUARD_SQL, guard);
        const sql = `SET search_path = ${p.schema};\n${p.script}\n${holds.join('\n')}`;
        await runAsImportRole(cluster, p.database, login, restrictedScript(sql), timeoutMs * 10);
      } catch (err) {
        failed = { err };
      }
      await runPsql(cluster, UNGUARD_SQL, guard).catch(() => undefined);
      if (failed) return fail(failed.err, false);
      const qualified = Object.keys(before.owners);
      const refused = await importViolations(cluster, p.database, p.schema, timeoutMs, qualified).catch((e) =>
        fail(e, true),
      );
      if (refused.length > 0)
        return fail(
          new PgduplexError('PEER_NOT_ALLOWED', `the schema change makes what no carry keeps: ${refused[0]}`, {
            hint: `rolled back; refused: ${refused.slice(0, 10).join('; ')}`,
          }),
          true,
        );
      await giveBack().catch((e) => fail(e, true));
      const after = await lendState(cluster, p).catch((e) => fail(e, true));
      const taken = takenFromLent(before, after);
      if (taken.length > 0)
        return fail(
          new PgduplexError('PEER_NOT_ALLOWED', `the schema change took what no carry may: ${taken[0]}`, {
            hint:
              `rolled back; a carried change adds, it does not drop, rename, grant or switch triggers: ` +
              taken.slice(0, 10).join('; '),
          }),
          true,
        );
      await handOver(cluster, p.database, p.schema, to, timeoutMs).catch((e) => fail(e, true));
      const present = await queryJson<string[]>(cluster, CREATES_PRESENT_SQL, {
        ...t(p.database),
        vars: objectVars(p.schema, p.creates),
      });
      const expected =
        p.creates.tables.length +
        p.creates.sequences.length +
        p.creates.indexes.length +
        p.creates.columns.length +
        p.creates.constraints.length;
      if (present.length !== expected)
        return fail(
          new PgduplexError('CHANGE_NOT_VERIFIED', `the carried schema change did not create all it names`, {
            hint: `rolled back; found ${present.length} of ${expected}: re-run pgduplex migrate`,
          }),
          true,
        );
      return {
        notes: p.hold.length > 0 ? [`held against local writes until their rows arrive: ${p.hold.join(', ')}`] : [],
      };
    },
    undo,
  });
};
