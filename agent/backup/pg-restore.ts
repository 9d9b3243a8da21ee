import { join } from 'node:path';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import type { Cluster } from '../postgres/cluster.js';
import { lookupUser } from '../system/users.js';

/** Feeds a root-only custom-format dump to `pg_restore` (run as postgres) on its stdin. */
export async function restoreFromFile(cluster: Cluster, file: string, database: string, timeoutMs: number, extra: string[] = []): Promise<void> {
  const pg = await lookupUser('postgres');
  const r = await execa(join(cluster.binDir, 'pg_restore'), ['--exit-on-error', ...extra, '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'postgres', '-d', database], {
    uid: pg.uid,
    gid: pg.gid,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGAPPNAME: 'pgduplex-restore' },
    extendEnv: false,
    inputFile: file,
    reject: false,
    timeout: timeoutMs,
  });
  if (r.exitCode !== 0) {
    const line = (r.stderr ?? '').split('\n').find((l) => l.trim() !== '') ?? `exit ${r.exitCode ?? r.signal}`;
    throw new PgduplexError('PG_QUERY_FAILED', `pg_restore into ${database} failed: ${line.replace(/^pg_restore: (error: )?/, '')}`, {
      hint: r.code === 'ENOENT' ? `install postgresql-client-${cluster.version}` : 'the scratch database was dropped again; see the PostgreSQL log',
    });
  }
}

/** Exact row counts of every table, to compare a restore with its source. */
export const EXACT_COUNTS_SQL = `select coalesce(json_agg(json_build_object('schema', table_schema, 'name', table_name,
  'rows', (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', table_schema, table_name), false, true, '')))[1]::text::bigint)
  order by table_schema, table_name), '[]')
  from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
