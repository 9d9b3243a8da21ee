// Cached base rootfs per flavor (trixie for 17, sid for 18, 19 and 17+), keyed on its package list; built
// atomically (temp dir + rename) under a host-wide flock, since every lab (any PGDX_LAB_ID) shares them read-only.
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import {
  DEFAULT_PG_MAJOR,
  MIRROR,
  PROVISION_VERSION,
  baseHash,
  basePath,
  currentBasePaths,
  flavorOf,
  type LabFlavor,
} from './base-flavor.js';
import { installExperimental } from './base-experimental.js';
import { runToLog } from './build-log.js';
import { PATHS } from './constants.js';
import { isAlive, pidsUsing, signal, waitExit } from './proc.js';
import { withFileLock } from './lock.js';
import { overlayLowerDirs, removeTree } from './mounts.js';
import { say } from './sh.js';

export { BASE_PACKAGES, PROVISION_VERSION, baseHash, basePath } from './base-flavor.js';

const MARKER = 'etc/pgduplex-lab-base';

async function clearStaleBuilds(): Promise<void> {
  for (const e of readdirSync(PATHS.cacheDir)) {
    const m = /^\.tmp-base-[0-9a-f]+-(\d+)$/.exec(e);
    if (m && !isAlive(Number(m[1]))) {
      const dir = `${PATHS.cacheDir}/${e}`;
      say(`removing half-built base ${e} from an interrupted build`);
      // The builder died, but its debootstrap may still run (orphaned); stop it first.
      for (const pid of pidsUsing(dir)) signal(pid, 'SIGKILL');
      for (const pid of pidsUsing(dir)) await waitExit(pid, 5_000);
      await removeTree(dir);
    }
  }
}

async function pruneOtherBases(): Promise<void> {
  const inUse = overlayLowerDirs();
  const keep = currentBasePaths();
  for (const e of readdirSync(PATHS.cacheDir)) {
    if (/^base-[0-9a-f]+$/.test(e) && !keep.includes(`${PATHS.cacheDir}/${e}`)) {
      // Another lab (e.g. another checkout with another PROVISION_VERSION) may still run on it.
      if (inUse.includes(`${PATHS.cacheDir}/${e}`)) {
        say(`keeping outdated base ${e}: a running lab's node uses it`);
        continue;
      }
      say(`removing outdated base ${e}`);
      await removeTree(`${PATHS.cacheDir}/${e}`);
    }
  }
}

async function debootstrap(pg: LabFlavor, tmp: string, log: string): Promise<void> {
  const f = flavorOf(pg);
  const argv = ['debootstrap', '--variant=minbase', `--include=${f.packages.join(',')}`, f.suite, tmp, MIRROR];
  writeFileSync(log, ''); // each build starts its log afresh
  await runToLog('debootstrap', argv, log);
}

/**
 * Why: nodes share one read-only lower layer; build it once (~1 min), then reuse it. Concurrent
 * labs serialize on a flock here: the second one waits for the first one's build and reuses it.
 */
export async function ensureBase(pg: LabFlavor = DEFAULT_PG_MAJOR): Promise<string> {
  mkdirSync(PATHS.cacheDir, { recursive: true, mode: 0o755 });
  // A finished base needs no lock (no lab waits behind another one's build of another major); pruning never
  // removes a current base, so this check is as safe as the one under the lock.
  if (existsSync(`${basePath(pg)}/${MARKER}`)) return basePath(pg);
  return withFileLock(`${PATHS.cacheDir}/.lock`, 'base rootfs', () => ensureBaseLocked(pg));
}

async function ensureBaseLocked(pg: LabFlavor): Promise<string> {
  const final = basePath(pg);
  const f = flavorOf(pg);
  await clearStaleBuilds();
  if (existsSync(`${final}/${MARKER}`)) return final;
  const tmp = `${PATHS.cacheDir}/.tmp-base-${baseHash(pg)}-${process.pid}`;
  const log = `${PATHS.cacheDir}/build-${baseHash(pg)}.log`;
  await removeTree(tmp);
  mkdirSync(tmp, { mode: 0o755 });
  say(`building the PostgreSQL ${f.key} base rootfs (a few minutes)… debootstrap ${f.suite} into ${tmp} (log: ${log})`);
  const started = Date.now();
  try {
    await debootstrap(pg, tmp, log);
    await installExperimental(tmp, f, log);
    // Each node writes its own machine-id; the base must not carry a shared one.
    writeFileSync(`${tmp}/etc/machine-id`, '');
    await removeTree(`${tmp}/var/cache/apt/archives`);
    mkdirSync(`${tmp}/var/cache/apt/archives/partial`, { recursive: true });
    writeFileSync(
      `${tmp}/${MARKER}`,
      `${JSON.stringify({ hash: baseHash(pg), packages: f.packages, experimental: f.experimental, pinned: f.pinned, cached: f.cached, version: PROVISION_VERSION })}\n`,
    );
  } catch (err) {
    await removeTree(tmp).catch(() => undefined);
    throw err;
  }
  if (existsSync(`${final}/${MARKER}`)) {
    await removeTree(tmp); // a concurrent build finished first
    return final;
  }
  if (existsSync(final)) await removeTree(final); // unmarked leftover, not trusted
  renameSync(tmp, final);
  say(`base rootfs ready in ${((Date.now() - started) / 1000).toFixed(0)} s: ${final}`);
  await pruneOtherBases();
  return final;
}
