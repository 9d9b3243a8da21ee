import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import type { z } from 'zod';
import { rowsTakeChange, takenKeys, type KeyHash, type RowKey } from '../../shared/protocol/rows.js';
import { ensureBackupRoot } from '../backup/backup-root.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { queryJson, runPsql } from '../postgres/psql.js';
import { BACKUP_SQL, COLUMNS_SQL, LOCAL_ORIGIN, REMOVE_SQL, RESTORE_SQL } from '../postgres/rows-sql.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';

const keyText = (k: RowKey) => (k.length === 1 ? k[0]! : `(${k.join(', ')})`);
const changed = (node: string, fq: string, keys: string[]) =>
  new PgduplexError(
    'ROWS_CHANGED',
    `${keys.length} rows of ${fq} on ${node} are not as they were compared (e.g. ${keys.slice(0, 3).join(', ')})`,
    { hint: 'they were written since: nothing was changed; run pgduplex verify --table again' },
  );

/** Writes the backup exclusively (never over an existing file, never through a link), root's 0600, synced. */
async function writeBackup(path: string, data: string): Promise<void> {
  const f = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await f.writeFile(data);
    await f.sync();
  } finally {
    await f.close();
  }
}

/**
 * `rows-take`: backs up the rows about to be overwritten or deleted here (COPY text, a root 0600 file in the backup
 * directory), then deletes the rows only this node has under a local replication origin, so the peer never gets
 * those deletes. Undo deletes every key the repair touched and loads the backup, again without replicating.
 */
export const rowsTakeAction = (s: AgentServices) => {
  const run = (c: Cluster, sql: string, database: string, vars: Record<string, string>) =>
    runPsql(c, sql, { timeoutMs: s.limits.toolTimeoutMs, database, vars: { timeout: '30000', ...vars } });

  /** Reads the rows in one snapshot: [key, md5] per row and their COPY text; refuses any not as compared. */
  const backup = async (c: Cluster, p: z.output<typeof rowsTakeChange.params>, columns: string[]) => {
    const fq = `${p.schema}.${p.table}`;
    const keys = takenKeys(p);
    const out = await run(c, BACKUP_SQL, p.database, { schema: p.schema, table: p.table, keys: JSON.stringify(keys) });
    const nl = out.indexOf('\n');
    const head = JSON.parse(nl < 0 ? out : out.slice(0, nl)) as { columns: string[]; rows: Array<[RowKey, string]> };
    if (JSON.stringify(head.columns) !== JSON.stringify(columns))
      throw new PgduplexError('ROWS_CHANGED', `the columns of ${fq} on ${s.node} changed while it was being repaired`);
    const now = new Map(head.rows.map(([k, h]) => [JSON.stringify(k), h]));
    const expected: KeyHash[] = [...p.overwrite, ...p.remove];
    const off = [
      ...expected.filter((k) => now.get(JSON.stringify(k.key)) !== k.hash).map((k) => keyText(k.key)),
      ...p.arrive.filter((k) => now.has(JSON.stringify(k))).map(keyText),
    ];
    if (off.length > 0) throw changed(s.node, fq, off);
    return { rows: head.rows.length, data: nl < 0 ? '' : `${out.slice(nl + 1)}\n` };
  };

  return plannedChange(rowsTakeChange, {
    // Each repair is new: make checks each row against the compare instead of a second plan.
    oneShot: true,
    async plan(p) {
      const cluster = await resolveCluster(s.postgresql);
      const vars = { schema: p.schema, table: p.table };
      const columns = await queryJson<string[]>(cluster, COLUMNS_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        database: p.database,
        vars,
      });
      const fq = `${p.schema}.${p.table}`;
      const stamp = `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
      const file = join(s.backupRoot, `rows-${stamp}-${p.database}.${fq}.copy`);
      const saved = p.overwrite.length + p.remove.length;
      const changes = [
        ...(saved > 0
          ? [
              `back up ${saved} rows of ${fq} (as they are here, before the repair) to a new file ` +
                `${join(s.backupRoot, `rows-<time>-${p.database}.${fq}.copy`)} (named when made)`,
            ]
          : []),
        ...(p.remove.length > 0
          ? [
              `delete ${p.remove.length} rows of ${fq} only ${s.node} has, under replication origin ${LOCAL_ORIGIN} ` +
                `(not sent to the peer): ${p.remove.map((k) => keyText(k.key)).join(', ')}`,
            ]
          : []),
        ...(p.overwrite.length + p.arrive.length > 0
          ? [
              `take the peer's version of ${p.overwrite.length} rows and ${p.arrive.length} rows ${s.node} lacks, ` +
                'by replication (the peer rewrites them)',
            ]
          : []),
      ];
      return {
        changes: takenKeys(p).length === 0 ? [] : changes,
        record: { database: p.database, schema: p.schema, table: p.table, backup: file, columns, keys: takenKeys(p) },
        state: { cluster, p, file, columns },
      };
    },
    async make({ state: { cluster, p, file, columns } }) {
      const fq = `${p.schema}.${p.table}`;
      const b = await backup(cluster, p, columns);
      const notes = [...(await ensureBackupRoot(s.backupRoot))];
      await writeBackup(file, b.data);
      notes.push(`backed up ${b.rows} rows of ${fq} on ${s.node} to ${file}`);
      if (p.remove.length > 0) {
        const out = await run(cluster, REMOVE_SQL, p.database, {
          schema: p.schema,
          table: p.table,
          keys: JSON.stringify(p.remove.map((k) => k.key)),
          hashes: JSON.stringify(p.remove.map((k) => k.hash)),
          n: String(p.remove.length),
        });
        if (out.trim().split('\n').at(-1) !== 't')
          throw changed(
            s.node,
            fq,
            p.remove.map((k) => keyText(k.key)),
          );
        notes.push(`deleted ${p.remove.length} rows of ${fq} on ${s.node} under origin ${LOCAL_ORIGIN}`);
      }
      return { notes, artifact: file };
    },
    async undo(r) {
      const fq = `${r.schema}.${r.table}`;
      const data = await readFile(r.backup, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      // The backup is written before anything changes here: without it, this entry changed nothing here.
      if (data === undefined) return [`no backup ${r.backup}: the repair changed nothing of ${fq} on ${s.node}`];
      if (data.split('\n').includes('\\.'))
        throw new PgduplexError('REFUSED', `${r.backup} is not a COPY text file pgduplex wrote`);
      await run(await resolveCluster(s.postgresql), `${RESTORE_SQL}\n${data}\\.\ncommit;\n`, r.database, {
        schema: r.schema,
        table: r.table,
        keys: JSON.stringify(r.keys),
        columns: JSON.stringify(r.columns),
      });
      const rows = data === '' ? 0 : data.split('\n').length - 1;
      return [
        `restored ${rows} rows of ${fq} on ${s.node} from ${r.backup} and removed the other rows the repair ` +
          `brought (${r.keys.length} keys in all), under origin ${LOCAL_ORIGIN}: not sent to the peer`,
      ];
    },
  });
};
