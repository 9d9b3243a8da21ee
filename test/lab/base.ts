// Cached Debian 13 base rootfs, keyed on its package list; built atomically (temp dir + rename)
// under a host-wide flock, since every lab (any PGDX_LAB_ID) shares it as its read-only lower layer.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { PATHS } from './constants.js';
import { isAlive, pidsUsing, signal, waitExit } from './proc.js';
import { withFileLock } from './lock.js';
import { overlayLowerDirs, removeTree } from './mounts.js';
import { LabError, hostEnv, say } from './sh.js';

/** Why: the exact packages of every node; changing it changes the cache key. */
export const BASE_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'postgresql-17',
  'iptables',
  'iproute2',
  'procps',
  'nodejs',
  'ca-certificates',
  'curl',
  'less',
];

/** Why: bump when the post-debootstrap tweaks below change, to invalidate old caches. */
export const PROVISION_VERSION = 1;

const SUITE = 'trixie';
const MIRROR = 'http://deb.debian.org/debian';
const MARKER = 'etc/pgduplex-lab-base';

/** Why: cache key = sha256(package list + provisioning version + suite/mirror). */
export function baseHash(): string {
  const key = JSON.stringify({
    packages: BASE_PACKAGES,
    version: PROVISION_VERSION,
    suite: SUITE,
    mirror: MIRROR,
    variant: 'minbase',
  });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Why: where the finished base for the current key lives (trusted only with its marker). */
export function basePath(): string {
  return `${PATHS.cacheDir}/base-${baseHash()}`;
}

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

async function pruneOtherBases(keep: string): Promise<void> {
  const inUse = overlayLowerDirs();
  for (const e of readdirSync(PATHS.cacheDir)) {
    if (/^base-[0-9a-f]+$/.test(e) && `${PATHS.cacheDir}/${e}` !== keep) {
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

async function debootstrap(tmp: string, log: string): Promise<void> {
  const r = await execa(
    'sh',
    [
      '-c',
      'exec "$0" "$@" >"$LAB_LOG" 2>&1',
      'debootstrap',
      '--variant=minbase',
      `--include=${BASE_PACKAGES.join(',')}`,
      SUITE,
      tmp,
      MIRROR,
    ],
    {
      reject: false,
      stdin: 'ignore',
      env: hostEnv({ DEBIAN_FRONTEND: 'noninteractive', LAB_LOG: log }),
      extendEnv: false,
      timeout: 1_800_000,
    },
  );
  if (r.exitCode !== 0) {
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-15).join('\n');
    throw new LabError(`debootstrap failed (exit ${r.exitCode ?? r.signal}); log ${log}:\n${tail}`);
  }
}

/**
 * Why: nodes share one read-only lower layer; build it once (~1 min), then reuse it. Concurrent
 * labs serialize on a flock here: the second one waits for the first one's build and reuses it.
 */
export async function ensureBase(): Promise<string> {
  mkdirSync(PATHS.cacheDir, { recursive: true, mode: 0o755 });
  return withFileLock(`${PATHS.cacheDir}/.lock`, 'base rootfs', ensureBaseLocked);
}

async function ensureBaseLocked(): Promise<string> {
  const final = basePath();
  await clearStaleBuilds();
  if (existsSync(`${final}/${MARKER}`)) return final;
  const tmp = `${PATHS.cacheDir}/.tmp-base-${baseHash()}-${process.pid}`;
  const log = `${PATHS.cacheDir}/build-${baseHash()}.log`;
  await removeTree(tmp);
  mkdirSync(tmp, { mode: 0o755 });
  say(`building base rootfs (about a minute)… debootstrap ${SUITE} into ${tmp} (log: ${log})`);
  const started = Date.now();
  try {
    await debootstrap(tmp, log);
    // Each node writes its own machine-id; the base must not carry a shared one.
    writeFileSync(`${tmp}/etc/machine-id`, '');
    await removeTree(`${tmp}/var/cache/apt/archives`);
    mkdirSync(`${tmp}/var/cache/apt/archives/partial`, { recursive: true });
    writeFileSync(
      `${tmp}/${MARKER}`,
      `${JSON.stringify({ hash: baseHash(), packages: BASE_PACKAGES, version: PROVISION_VERSION })}\n`,
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
  await pruneOtherBases(final);
  return final;
}
