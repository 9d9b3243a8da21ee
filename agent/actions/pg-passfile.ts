import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { OWNED_HEADER, restoreFile, snapshotFile, writeFileAtomic } from '../files/owned-file.js';
import { resolveCluster } from '../postgres/cluster.js';
import { lookupUser } from '../system/users.js';
import { plannedChange } from './change.js';
import { pgPassfileChange } from '../../shared/protocol/postgres.js';
import type { AgentServices } from './context.js';

/** The libpq passfile the agent owns beside the cluster's config; subscriptions name it with `passfile=`. */
export const PASSFILE_NAME = 'pgduplex.pgpass';

/** libpq passfile escaping: backslash and colon are escaped with a backslash. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

const keyOf = (p: { host: string; port: number; database: string; user: string }) =>
  `${esc(p.host)}:${p.port}:${esc(p.database)}:${esc(p.user)}:`;

/**
 * `pg-passfile`: keeps one line per peer connection in a 0600 passfile owned by postgres, so the
 * password never sits in a connection string or `pg_subscription.subconninfo`. Undo removes the line;
 * the journal holds which line, never the password.
 */
export const pgPassfileAction = (s: AgentServices) => {
  const pathOf = async () => join((await resolveCluster(s.postgresql)).configDir, PASSFILE_NAME);
  const lines = async (path: string) =>
    ((await snapshotFile(path)).content ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const render = (ls: string[]) => `${OWNED_HEADER}\n${ls.join('\n')}${ls.length ? '\n' : ''}`;
  const write = async (path: string, ls: string[]) => {
    const pg = await lookupUser('postgres');
    await writeFileAtomic(path, render(ls), { uid: pg.uid, gid: pg.gid, mode: 0o600 });
  };
  return plannedChange(pgPassfileChange, {
    async plan(p) {
      const path = await pathOf();
      const key = keyOf(p);
      const want = key + esc(p.password);
      const before = await snapshotFile(path);
      const current = await lines(path);
      const had = current.find((l) => l.startsWith(key));
      const where = `${p.user}@${p.host}:${p.port}/${p.database} in ${path}`;
      return {
        changes: had === want ? [] : [`${had ? 'replace' : 'add'} the passfile line for ${where} (password not shown)`],
        record: { key, replaced: had !== undefined, created: before.content === null },
        state: { path, before, lines: [...current.filter((l) => !l.startsWith(key)), want], want },
      };
    },
    async make({ state }, rollback) {
      await write(state.path, state.lines);
      if ((await lines(state.path)).includes(state.want)) return;
      await rollback(() => restoreFile(state.before));
      throw new PgduplexError(
        'INTERNAL',
        `${state.path} does not read back as written; the previous file was put back`,
      );
    },
    async undo(r) {
      const path = await pathOf();
      const left = (await lines(path)).filter((l) => !l.startsWith(r.key));
      // A file this action created goes again with its last line, so the config dir is as it was.
      await (left.length === 0 && r.created === true ? restoreFile({ path, content: null }) : write(path, left));
      return [
        `removed the passfile line ${r.key.slice(0, -1)}` +
          `${r.replaced ? ' (it replaced an older line whose password pgduplex does not keep)' : ''}`,
      ];
    },
  });
};
