import { dirname, join } from 'node:path';
import { z } from 'zod';
import { readPrivateJson, writePrivateJson } from './private-files.js';

const clusterRef = z.strictObject({
  version: z.string().regex(/^\d{2,}$/),
  cluster: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/),
});
/** A cluster as agent.json and the follow state name it. */
export type ClusterRef = z.infer<typeof clusterRef>;

const followSchema = z.strictObject({ to: clusterRef, replaced: z.array(clusterRef).max(100), at: z.string() });
/** The cluster pg-upgrades moved this node to, and every cluster it served before (oldest first). */
export type Follow = z.infer<typeof followSchema>;

const same = (x: ClusterRef, y: ClusterRef) => x.version === y.version && x.cluster === y.cluster;

/**
 * Why: agent.json is a dpkg conffile, never rewritten; after a pg-upgrade the node's state says which cluster it
 * serves, and wins over a configured cluster that an upgrade replaced (or no configured cluster).
 */
export function followedCluster(configured: ClusterRef | undefined, follow: Follow | null): ClusterRef | undefined {
  if (follow === null) return configured;
  return configured === undefined || follow.replaced.some((r) => same(r, configured)) ? follow.to : configured;
}

/** The follow state (`cluster.json` in the state dir, root 0600), held in memory and written through. */
export class ClusterFollow {
  private constructor(
    private readonly path: string,
    private state: Follow | null,
  ) {}

  /** Loads the state; absent or unreadable is none (the configured or only cluster is served). */
  static async load(stateDir: string): Promise<ClusterFollow> {
    const path = join(stateDir, 'cluster.json');
    const parsed = followSchema.safeParse(await readPrivateJson(path).catch(() => undefined));
    return new ClusterFollow(path, parsed.success ? parsed.data : null);
  }

  /** The state dir the file lives in (upgrade runs keep their log beside it). */
  get dir(): string {
    return dirname(this.path);
  }

  /** The last upgrade this node followed, or null. */
  get(): Follow | null {
    return this.state;
  }

  /** Records the cluster an upgrade moved this node to, on disk first. */
  async set(from: ClusterRef, to: ClusterRef): Promise<void> {
    const replaced = [...(this.state?.replaced ?? []).filter((r) => !same(r, from) && !same(r, to)), from];
    const state = { to, replaced, at: new Date().toISOString() };
    await writePrivateJson(this.path, state);
    this.state = state;
  }
}

/** A file a change recorded in a replaced cluster's config dir, as it lives in the followed cluster's (teardown). */
export function followedPath(path: string, follow: Follow | null): string {
  for (const r of follow?.replaced ?? []) {
    const from = `/etc/postgresql/${r.version}/${r.cluster}/`;
    if (path.startsWith(from))
      return `/etc/postgresql/${follow!.to.version}/${follow!.to.cluster}/${path.slice(from.length)}`;
  }
  return path;
}
