import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ClusterView } from '../../shared/protocol/upgrade.js';
import { listClusters, type Cluster } from './cluster.js';

/** `pg_lsclusters -h` lines: version, cluster, port, status, owner, data directory, log file. */
export function parseLsclusters(text: string): Map<string, boolean> {
  const running = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const [version, name, , status] = line.trim().split(/\s+/);
    if (version && name && status) running.set(`${version}/${name}`, status.split(',').includes('online'));
  }
  return running;
}

/** start.conf's word: auto, manual or disabled (auto when the file is absent, as postgresql-common reads it). */
export function startWord(text: string | null): string {
  const word = (text ?? '')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .find((l) => l !== '');
  return word ?? 'auto';
}

/** Every cluster with whether it runs and how it starts, as the upgrade plans and reports them. */
export async function clusterViews(timeoutMs: number, confRoot?: string): Promise<Array<ClusterView & { c: Cluster }>> {
  const clusters = await listClusters(confRoot);
  const ls = await execa('pg_lsclusters', ['-h'], { reject: false, timeout: timeoutMs, env: { LANG: 'C' } });
  const running = parseLsclusters(ls.stdout ?? '');
  return Promise.all(
    clusters.map(async (c) => ({
      version: c.version,
      name: c.name,
      port: c.port,
      dataDir: c.dataDir,
      running: running.get(`${c.version}/${c.name}`) ?? false,
      start: startWord(await readFile(join(c.configDir, 'start.conf'), 'utf8').catch(() => null)),
      c,
    })),
  );
}

/** The view without the cluster it was read from, as it crosses the wire. */
export const viewOnly = ({ c: _, ...view }: ClusterView & { c: Cluster }): ClusterView => view;
