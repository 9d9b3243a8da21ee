import { lstat, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { pgClusterDropChange } from '../../shared/protocol/upgrade.js';
import { resolveCluster } from '../postgres/cluster.js';
import { clusterViews } from '../postgres/cluster-views.js';
import { DROPIN_NAME } from '../postgres/settings-file.js';
import { clusterTool } from '../postgres/upgrade-run.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';
import { PASSFILE_NAME } from './pg-passfile.js';
import { named } from './pg-upgrade-facts.js';

/** Removes pgduplex's files from a dropped cluster's config dir, and the dir when nothing else is left. */
async function removeLeftovers(configDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of [join('conf.d', DROPIN_NAME), PASSFILE_NAME]) {
    const path = join(configDir, rel);
    if ((await lstat(path).catch(() => null))?.isFile()) {
      await unlink(path);
      removed.push(`removed ${path}`);
    }
  }
  for (const dir of [join(configDir, 'conf.d'), configDir]) await rmdir(dir).catch(() => undefined);
  return removed;
}

/** `pg-cluster-drop`: removes a stopped cluster an upgrade replaced (pg-upgrade --finish), never any other. */
export const pgClusterDropAction = (s: AgentServices) => {
  const timeoutMs = s.limits.toolTimeoutMs;
  return plannedChange(pgClusterDropChange, {
    async plan({ version, cluster }) {
      const ref = { version, cluster };
      const views = await clusterViews(timeoutMs);
      const v = views.find((x) => x.version === version && x.name === cluster);
      const record = { version, cluster, dataDir: v?.dataDir ?? '' };
      if (!v) return { changes: [], record, state: null };
      if (!(s.follow.get()?.replaced ?? []).some((r) => named(r) === named(ref)))
        throw new PgduplexError('REFUSED', `${named(ref)} is not a cluster a pg-upgrade replaced here`, {
          hint: 'pgduplex removes only the old cluster of its own upgrade; remove others yourself',
        });
      const now = await resolveCluster(s.postgresql);
      if (now.version === version && now.name === cluster)
        throw new PgduplexError('REFUSED', `${named(ref)} is the cluster this node serves`);
      if (v.running)
        throw new PgduplexError('REFUSED', `${named(ref)} is running`, {
          hint: `stop it first (pg_ctlcluster ${version} ${cluster} stop) if nothing uses it`,
        });
      return {
        changes: [`remove the old cluster ${named(ref)} and its data directory ${v.dataDir}`],
        record,
        state: v,
      };
    },
    async make({ state }) {
      if (!state) return;
      await clusterTool(['pg_dropcluster', state.version, state.name], timeoutMs * 4);
      // pg_dropcluster leaves files it did not make: ours (the passfile holds the pair's password) go too.
      return { notes: await removeLeftovers(state.c.configDir) };
    },
    async undo(r) {
      throw new PgduplexError('REFUSED', `the removed cluster ${r.version}/${r.cluster} cannot be brought back`, {
        hint: 'the backup pg-upgrade --finish took before it holds its data',
      });
    },
  });
};
