import { PgduplexError } from '../../shared/errors.js';
import { tablesSliceAction } from '../../shared/protocol/rows.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { sliceSql } from '../postgres/rows-sql.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** The refusal for a table without a primary key: its rows cannot be walked or named by key. */
export const noKeyError = (schema: string, table: string): PgduplexError =>
  new PgduplexError(
    'REFUSED',
    `${schema}.${table} has no primary key: its rows cannot be compared or repaired by key`,
    {
      hint: 'pgduplex verify (without --table) compares it as a whole',
    },
  );

/** `tables.slice`: count, checksum and last key of one primary-key range, in one short read-only transaction. */
export const tableSliceHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: tablesSliceAction,
    run: async (p) => {
      const sql = sliceSql({ after: p.after !== null, upTo: p.upTo !== null, withKeys: p.keys });
      const vars = {
        schema: p.schema,
        table: p.table,
        timeout: String(p.statementTimeoutMs),
        lim: String(p.limit),
        ...(p.after !== null ? { after: JSON.stringify(p.after) } : {}),
        ...(p.upTo !== null ? { upto: JSON.stringify(p.upTo) } : {}),
      };
      const r = await queryJson<{ noKey?: true; rows: number; sum: string; last: string[] | null; keys?: unknown }>(
        await resolveCluster(s.postgresql),
        sql,
        { timeoutMs: s.limits.toolTimeoutMs + p.statementTimeoutMs, database: p.database, vars },
      );
      if (r.noKey) throw noKeyError(p.schema, p.table);
      return { rows: r.rows, sum: r.sum, last: r.last, ...(p.keys ? { keys: r.keys as never } : {}) };
    },
  });
