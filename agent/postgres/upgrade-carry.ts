import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lookupUser } from '../system/users.js';
import { writeFileAtomic } from '../files/owned-file.js';
import type { Cluster } from './cluster.js';
import { runPsql } from './psql.js';
import { DROPIN_NAME } from './settings-file.js';
import { PASSFILE_NAME } from '../actions/pg-passfile.js';

const exists = (path: string) =>
  lstat(path).then(
    (s) => s.isFile(),
    () => false,
  );

/**
 * Why: the new cluster must hold what pgduplex gave the old one (settings drop-in, passfile); a file pg_upgradecluster
 * did not copy is copied here, owned by postgres, never through a symlink. Answers what was copied.
 */
export async function carryFiles(from: Cluster, to: Cluster): Promise<string[]> {
  const pg = await lookupUser('postgres');
  const carried: string[] = [];
  for (const [rel, mode] of [
    [join('conf.d', DROPIN_NAME), 0o644],
    [PASSFILE_NAME, 0o600],
  ] as const) {
    const src = join(from.configDir, rel);
    const dst = join(to.configDir, rel);
    if (!(await exists(src)) || (await exists(dst))) continue;
    await writeFileAtomic(dst, await readFile(src, 'utf8'), { uid: pg.uid, gid: pg.gid, mode });
    carried.push(dst);
  }
  return carried;
}

const NO_BINARY_SQL = `set search_path = pg_catalog;
select format('alter subscription %I set (binary = false)', subname) from pg_subscription
  where subbinary and subdbid = (select oid from pg_database where datname = current_database()) \\gexec`;

/** Binary transfer only between equal majors: after an upgrade that made them differ, this node's subscriptions. */
export async function binaryOff(to: Cluster, database: string, timeoutMs: number) {
  await runPsql(to, NO_BINARY_SQL, { timeoutMs, database });
}

// Subscriptions name the passfile by path: the old cluster's directory goes with --finish.
const REPOINT_SQL = `set search_path = pg_catalog;
select format('alter subscription %I connection %L', subname, replace(subconninfo, :'old', :'new'))
  from pg_subscription where strpos(subconninfo, :'old') > 0 \\gexec`;

/** Points every subscription of `database` that named the old cluster's passfile at the new cluster's. */
export async function repointPassfile(from: Cluster, to: Cluster, database: string, timeoutMs: number) {
  await runPsql(to, REPOINT_SQL, {
    timeoutMs,
    database,
    vars: {
      old: `passfile=${join(from.configDir, PASSFILE_NAME)}`,
      new: `passfile=${join(to.configDir, PASSFILE_NAME)}`,
    },
  });
}
