// Lab lifecycle: labUp / labDown / labStatus / labSecret, built from the smaller modules.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { LAB, LAB_ID, LAB_UP_HINT, NODE_NAMES, PATHS, nodePaths, type NodeName } from './constants.js';
import { ensureBase } from './base.js';
import { DEFAULT_PG_MAJOR, flavorOf, type LabFlavor } from './base-flavor.js';
import { installDeb } from './deb.js';
import { mountsUnder, removeTree } from './mounts.js';
import { labNamespaces, netDown, netUp, nsAddresses } from './net.js';
import { bootNode, mountNode, stopNode, waitRunning } from './node.js';
import { containerInitOf, findLabNspawns } from './proc.js';
import { ensureHostTools, ensureRoot } from './prereq.js';
import { provisionNode } from './provision.js';
import { clearState, readState, writeState, type LabState, type NodeState } from './state.js';
import { LabError, say, tryRun } from './sh.js';

/** Options for labUp. */
export interface LabUpOptions {
  /** Host path of a .deb to install (dpkg -i) on both nodes after provisioning. */
  deb?: string;
  /**
   * Base flavor per node: a PostgreSQL major (17 on trixie, 18 on sid, 19 from experimental), or '17+' (trixie's
   * 17 on sid, the .debs of 18 and 19 cached for installPgMajor); 17 where not given.
   */
  versions?: Partial<Record<NodeName, LabFlavor>>;
}

async function startNode(node: NodeName, base: string, secret: string, flavor: LabFlavor): Promise<NodeState> {
  const n = LAB.nodes[node];
  const { unifiedCgroup, pg } = flavorOf(flavor);
  for (let attempt = 1; ; attempt++) {
    const root = await mountNode(node, base);
    say(`booting node ${node}`);
    const { nspawnPid, pid } = await bootNode(node, { unifiedCgroup });
    let state: string;
    try {
      state = await waitRunning(node, pid, nspawnPid);
    } catch (err) {
      // A boot that never settles is retried from a fresh overlay too; the third failure is reported.
      if (attempt >= 3) throw err;
      say(
        `node ${node}: boot did not settle (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); retrying (attempt ${attempt + 1} of 3)`,
      );
      await stopNode(node, nspawnPid);
      await removeTree(nodePaths(node).dir);
      continue;
    }
    // On this cgroup-v1-hybrid host a unit occasionally fails to spawn at boot ("Failed to spawn
    // executor"); a fresh boot fixes it, and tests should not start on a half-booted node.
    if (state === 'degraded' && attempt < 3) {
      say(`node ${node}: rebooting from a fresh overlay (attempt ${attempt + 1} of 3)`);
      await stopNode(node, nspawnPid);
      await removeTree(nodePaths(node).dir);
      continue;
    }
    say(`node ${node} is up (systemd pid ${pid}, ${state})`);
    await provisionNode(node, secret, pg);
    return { name: node, nspawnPid, pid, root, netns: n.netns, ipv4: n.ipv4, ipv6: n.ipv6, pg, flavor };
  }
}

/** Why: one call gives tests a fresh two-node lab; leftovers of earlier runs are removed first. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabState> {
  ensureRoot();
  if (opts.deb !== undefined && !existsSync(opts.deb)) throw new LabError(`no such .deb: ${opts.deb}`);
  await ensureHostTools();
  await labDown({ quietIfClean: true });
  const flavor = (n: NodeName): LabFlavor => flavorOf(opts.versions?.[n] ?? DEFAULT_PG_MAJOR).key;
  const bases = { a: await ensureBase(flavor('a')), b: await ensureBase(flavor('b')) };
  const state: LabState = {
    version: 1,
    startedAt: new Date().toISOString(),
    base: bases.a,
    secret: randomBytes(18).toString('base64url'),
    nodes: {},
    deb: null,
  };
  writeState(state);
  await netUp();
  const started = await Promise.all(NODE_NAMES.map((n) => startNode(n, bases[n], state.secret, flavor(n))));
  for (const s of started) state.nodes[s.name] = s;
  writeState(state);
  if (opts.deb !== undefined) {
    for (const n of NODE_NAMES) await installDeb(n, opts.deb);
    state.deb = opts.deb;
    writeState(state);
  }
  say('lab is up');
  return state;
}

async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  const nspawns = findLabNspawns();
  if (nspawns.length > 0) found.push(`nspawn ${nspawns.map((n) => `${n.node}:${n.pid}`).join(',')}`);
  const mounts = mountsUnder(PATHS.nodesDir);
  if (mounts.length > 0) found.push(`mounts ${mounts.join(',')}`);
  const nss = await labNamespaces();
  if (nss.length > 0) found.push(`namespaces ${nss.join(',')}`);
  if (existsSync(PATHS.nodesDir) && readdirSync(PATHS.nodesDir).length > 0) found.push('node directories');
  if (existsSync(PATHS.stateFile)) found.push('state file');
  return found;
}

/** Why: an id'd lab leaves no empty directory behind (the default lab keeps its historical one). */
function removeEmptyLabDir(): void {
  if (LAB_ID === null) return;
  for (const d of [PATHS.nodesDir, PATHS.labDir]) {
    try {
      rmdirSync(d); // only ever removes an empty directory
    } catch {
      /* absent or not empty */
    }
  }
}

/**
 * Why: tests and humans must be able to return the host to zero lab resources, always. Touches only
 * this lab (PGDX_LAB_ID): its namespaces, its nodesDir mounts, its nspawns, its state file.
 */
export async function labDown(opts: { quietIfClean?: boolean } = {}): Promise<void> {
  ensureRoot();
  const found = await leftovers();
  if (found.length === 0) {
    removeEmptyLabDir();
    if (!opts.quietIfClean) say('nothing to tear down');
    return;
  }
  say(`tearing down: ${found.join('; ')}`);
  const recorded = readState()?.nodes ?? {};
  const targets = new Map<number, NodeName>();
  for (const n of NODE_NAMES) {
    const s = recorded[n];
    if (s) targets.set(s.nspawnPid, n);
  }
  for (const f of findLabNspawns()) targets.set(f.pid, f.node);
  const stops = [...targets].map(async ([pid, node]) => {
    // Only stop pids that really are lab nspawns (the state file may hold recycled pids).
    if (findLabNspawns().some((f) => f.pid === pid)) await stopNode(node, pid);
  });
  await Promise.all(stops);
  for (const n of NODE_NAMES) await removeTree(nodePaths(n).dir);
  const stray = mountsUnder(PATHS.nodesDir);
  if (stray.length > 0) throw new LabError(`mounts left under ${PATHS.nodesDir}: ${stray.join(', ')}`);
  await netDown();
  clearState();
  removeEmptyLabDir();
  const still = await leftovers();
  if (still.length > 0) throw new LabError(`teardown incomplete: ${still.join('; ')}`);
  say('lab is down');
}

/** What is up right now, read from the system (not only from the state file). */
export interface LabStatus {
  /** PGDX_LAB_ID of this lab; null for the default lab. */
  labId: string | null;
  stateFile: boolean;
  namespaces: string[];
  mounts: string[];
  nodes: Record<
    NodeName,
    {
      running: boolean;
      nspawnPid: number | null;
      pid: number | null;
      systemState: string | null;
      addresses: string[];
      /** PostgreSQL major the state file records for it (null without a state file). */
      pg: number | null;
    }
  >;
  outsider: { addresses: string[] };
  deb: string | null;
}

/** Why: the CLI's status and tests' sanity checks see the real state of the host. */
export async function labStatus(): Promise<LabStatus> {
  ensureRoot();
  const namespaces = await labNamespaces();
  const nspawns = findLabNspawns();
  const nodes = {} as LabStatus['nodes'];
  for (const n of NODE_NAMES) {
    const nspawnPid = nspawns.find((f) => f.node === n)?.pid ?? null;
    const pid = nspawnPid === null ? null : containerInitOf(nspawnPid);
    let systemState: string | null = null;
    if (pid !== null) {
      const r = await tryRun('nsenter', ['-t', String(pid), '-a', 'systemctl', 'is-system-running'], {
        timeoutMs: 10_000,
      });
      systemState = r.stdout.trim() || null;
    }
    const netns = LAB.nodes[n].netns;
    const addresses = namespaces.includes(netns) ? await nsAddresses(netns) : [];
    nodes[n] = { running: pid !== null, nspawnPid, pid, systemState, addresses, pg: null };
  }
  const x = LAB.outsider.netns;
  const outsider = { addresses: namespaces.includes(x) ? await nsAddresses(x) : [] };
  const state = readState();
  for (const n of NODE_NAMES) nodes[n].pg = state === null ? null : (state.nodes[n]?.pg ?? 17);
  return {
    labId: LAB_ID,
    stateFile: state !== null,
    namespaces,
    mounts: mountsUnder(PATHS.nodesDir),
    nodes,
    outsider,
    deb: state?.deb ?? null,
  };
}

/** Why: tests log in as fusionpbx; the password lives only in the 0600 state file. */
export function labSecret(): string {
  const s = readState();
  if (s === null) throw new LabError(`no lab state (${LAB_UP_HINT})`);
  return s.secret;
}
