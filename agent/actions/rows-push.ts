import { PgduplexError } from '../../shared/errors.js';
import { rowsPushChange } from '../../shared/protocol/rows.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { COUNT_SQL, PUSH_SQL } from '../postgres/rows-sql.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';
import { noKeyError } from './table-slice.js';

/**
 * `rows-push`: rewrites the named rows of the kept node in one transaction so that replication carries each whole
 * row to the peer. Their content here stays as it was, so its undo has nothing to put back.
 */
export const rowsPushAction = (s: AgentServices) => {
  const vars = (p: { schema: string; table: string; keys: string[][] }) => ({
    schema: p.schema,
    table: p.table,
    keys: JSON.stringify(p.keys),
  });
  return plannedChange(rowsPushChange, {
    // Each push is new (the rows stay the same here): make checks what it rewrote instead of a second plan.
    oneShot: true,
    async plan(p) {
      const cluster = await resolveCluster(s.postgresql);
      const found = await queryJson<{ rows: number; noKey?: true }>(cluster, COUNT_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database: p.database,
        vars: vars(p),
      });
      if (found.noKey) throw noKeyError(p.schema, p.table);
      const fq = `${p.schema}.${p.table}`;
      // A key the compare saw only on the peer that is here after all means the two nodes ordered the key ranges
      // differently (e.g. another collation): the repair would delete a row both hold, so nothing is done.
      const there =
        p.absent.length === 0
          ? 0
          : (
              await queryJson<{ rows: number }>(cluster, COUNT_SQL, {
                timeoutMs: s.limits.toolTimeoutMs,
                database: p.database,
                vars: vars({ ...p, keys: p.absent }),
              })
            ).rows;
      if (there > 0)
        throw new PgduplexError(
          'ROWS_CHANGED',
          `${there} of the rows of ${fq} the compare found only on the peer exist on ${s.node}`,
          {
            hint:
              'written since, or the nodes order the key differently (another collation): nothing was changed; ' +
              'run pgduplex verify --table again',
          },
        );
      const missing = p.keys.length - found.rows;
      return {
        changes:
          found.rows === 0
            ? []
            : [
                `rewrite ${found.rows} rows of ${fq} unchanged (delete and insert in one transaction, no triggers) ` +
                  `so that replication carries them whole to the peer` +
                  (missing > 0 ? `; ${missing} of the keys asked for are not here` : ''),
              ],
        record: { database: p.database, schema: p.schema, table: p.table, rows: found.rows },
        state: { cluster, p },
      };
    },
    async make({ state: { cluster, p }, record }) {
      const out = await runPsql(cluster, PUSH_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database: p.database,
        vars: { ...vars(p), timeout: String(s.limits.toolTimeoutMs) },
      });
      const rows = Number(out.trim().split('\n').at(-1));
      return { notes: [`rewrote ${rows} rows of ${p.schema}.${p.table} on ${s.node} (of ${record.rows} planned)`] };
    },
    async undo(r) {
      return [
        `nothing to restore on ${s.node}: rows-push rewrote ${r.rows} rows of ${r.schema}.${r.table} unchanged ` +
          "(the peer's rows-take entry restores the peer's rows)",
      ];
    },
  });
};
