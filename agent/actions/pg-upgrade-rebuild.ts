import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readPrivateJson, writePrivateJson } from '../state/private-files.js';
import type { Cluster } from '../postgres/cluster.js';
import {
  dropForUpgrade,
  parkSubscriptions,
  readRebuildSpec,
  rebuildReplication,
  type RebuildAdjust,
  type RebuildSpec,
} from '../postgres/upgrade-rebuild.js';
import { PASSFILE_NAME } from './pg-passfile.js';

const ref = z.strictObject({ version: z.string(), cluster: z.string() });
const lsn = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/);
const specSchema = z.strictObject({
  database: z.string(),
  subscriptions: z.array(
    z.strictObject({
      name: z.string(),
      enabled: z.boolean(),
      conninfo: z.string(),
      publications: z.array(z.string()),
      slot: z.string().nullable(),
      origin: z.string(),
      binary: z.boolean(),
      streaming: z.enum(['off', 'on', 'parallel']),
      disableOnError: z.boolean(),
      passwordRequired: z.boolean(),
      runAsOwner: z.boolean(),
      failover: z.boolean().nullable(),
      twoPhase: z.boolean(),
      workers: z.number(),
      tables: z.number(),
      originLsn: lsn.nullable(),
    }),
  ),
  slots: z.array(
    z.strictObject({
      name: z.string(),
      plugin: z.string(),
      twoPhase: z.boolean(),
      failover: z.boolean().nullable(),
      active: z.boolean(),
    }),
  ),
  foreign: z.array(z.string()),
});
const recordSchema = z.strictObject({ from: ref, to: ref, at: z.string(), specs: z.array(specSchema) });
/** What a re-creating upgrade wrote down before the stop: the pair's objects and where each subscription stopped. */
export type RebuildRecord = z.infer<typeof recordSchema>;

/** The record's file in the agent's state dir (root 0600): it outlives a killed agent and a stopped cluster. */
export const rebuildFile = (stateDir: string, to: string) => join(stateDir, `pg-upgrade-${to}.rebuild.json`);

/** The record a run of this upgrade wrote, or null (none, another upgrade's, or unreadable). */
export async function readRebuild(stateDir: string, from: z.infer<typeof ref>, to: z.infer<typeof ref>) {
  const parsed = recordSchema.safeParse(await readPrivateJson(rebuildFile(stateDir, to.version)).catch(() => null));
  if (!parsed.success) return null;
  const r = parsed.data;
  const same = (x: typeof from, y: typeof from) => x.version === y.version && x.cluster === y.cluster;
  return same(r.from, from) && same(r.to, to) ? r : null;
}

type T = { timeoutMs: number };
type Refs = { from: z.infer<typeof ref>; to: z.infer<typeof ref> };

/**
 * Before pg_upgradecluster: parks this node's subscriptions and writes down where each stopped (on disk first), then,
 * from 17 on, takes them and the pair's slots out so pg_upgrade carries none (restoreRebuild puts them back).
 */
export async function prepareRebuild(
  stateDir: string,
  st: Refs,
  old: Cluster,
  databases: readonly string[],
  t: T,
): Promise<string[]> {
  const kept = await readRebuild(stateDir, st.from, st.to);
  const specs: RebuildSpec[] = [];
  for (const database of databases) {
    const now = await parkSubscriptions(old, { ...t, database });
    // A run killed after the take-out finds nothing left: what it wrote down stands.
    const earlier = kept?.specs.find((x) => x.database === database);
    specs.push(now.subscriptions.length === 0 && now.slots.length === 0 && earlier ? earlier : now);
  }
  const record: RebuildRecord = { from: st.from, to: st.to, at: new Date().toISOString(), specs };
  await writePrivateJson(rebuildFile(stateDir, st.to.version), record);
  if (Number(old.version) >= 17)
    for (const spec of specs) await dropForUpgrade(old, spec, { ...t, database: spec.database });
  return specs.flatMap((x) =>
    x.subscriptions.map((s) => `subscription ${s.name} stopped after ${s.originLsn ?? 'nothing applied'}`),
  );
}

/**
 * After a failed upgrade, with the old cluster running again: its pair objects as they were (re-created where taken
 * out, resumed where parked), and the record forgotten, so the next run reads fresh positions.
 */
export async function restoreRebuild(stateDir: string, st: Refs, old: Promise<Cluster>, t: T): Promise<void> {
  const r = await readRebuild(stateDir, st.from, st.to);
  if (r === null) return;
  const c = await old;
  for (const spec of r.specs)
    await rebuildReplication(c, spec, { conninfo: (x) => x }, { ...t, database: spec.database });
  await rm(rebuildFile(stateDir, st.to.version), { force: true });
}

/** Whether the new cluster still lacks one of the record's objects, or holds one not yet resumed. */
export async function rebuildOwed(r: RebuildRecord, c: Cluster, t: T): Promise<boolean> {
  for (const spec of r.specs) {
    const now = await readRebuildSpec(c, { ...t, database: spec.database });
    const subs = spec.subscriptions.every((x) => now.subscriptions.some((n) => n.name === x.name && n.enabled));
    const slots = spec.slots.every((x) => now.slots.some((n) => n.name === x.name));
    if (!subs || !slots) return true;
  }
  return false;
}

/** After the upgrade: re-creates what the record names on the new cluster, with its passfile; answers what it did. */
export async function finishRebuild(stateDir: string, st: Refs, from: Cluster, to: Cluster, binary: boolean, t: T) {
  const r = await readRebuild(stateDir, st.from, st.to);
  if (r === null) return [];
  const adjust: RebuildAdjust = {
    conninfo: (c) =>
      c.replace(`passfile=${join(from.configDir, PASSFILE_NAME)}`, `passfile=${join(to.configDir, PASSFILE_NAME)}`),
    ...(binary ? {} : { binary: false as const }),
  };
  const done: string[] = [];
  for (const spec of r.specs)
    done.push(...(await rebuildReplication(to, spec, adjust, { ...t, database: spec.database })));
  return done;
}
