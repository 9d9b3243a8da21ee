// Which base rootfs a node of a given PostgreSQL major boots from: suite, packages, cache key.
import { createHash } from 'node:crypto';
import { PATHS } from './constants.js';
import { LabError } from './errors.js';

/** Why: the PostgreSQL majors a lab node can run; each has a base rootfs of its own. */
export const PG_MAJORS = [17, 18, 19] as const;

/** A PostgreSQL major a lab node can run. */
export type PgMajor = (typeof PG_MAJORS)[number];

/**
 * Why: a node's base is one of these: a major (it runs that major), or `'17+'` (`'18+'` alike for 18 with 19), which runs 17 as FS PBX's
 * installer leaves it on sid and holds the .debs of 18 and 19, downloaded and not installed, for an offline
 * `apt-get install postgresql-18` (installPgMajor) ahead of an in-place major upgrade.
 */
export const LAB_FLAVORS = [...PG_MAJORS, '17+', '18+'] as const;

/** A base a lab node can boot from (see LAB_FLAVORS). */
export type LabFlavor = (typeof LAB_FLAVORS)[number];

/** Why: the default lab (and every test that does not ask) runs 17 on trixie, as before. */
export const DEFAULT_PG_MAJOR: PgMajor = 17;

/** Why: the exact packages of a 17 node; changing it changes the cache key. */
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

/** Why: bump when the post-debootstrap tweaks change, to invalidate old caches. */
export const PROVISION_VERSION = 1;

/** Why: the one mirror the lab may use (the host's own Debian mirror); no other hosts. */
export const MIRROR = 'http://deb.debian.org/debian';

/** Packages downloaded into a base, not installed: what installPgMajor installs offline. */
export interface CachedMajor {
  /** The major these packages bring. */
  major: PgMajor;
  /** apt's package arguments, `pkg` or `pkg/suite`; installPgMajor passes the same ones. */
  packages: readonly string[];
  /** Directory inside the node holding the .debs (apt's archive directory for them). */
  dir: string;
}

/** Why: the flavor's cached .debs live here inside the node (outside apt's own cache, which the build empties). */
export const CACHED_DEBS_DIR = '/var/cache/pgduplex-lab-debs';

/** What a base rootfs is made of. */
export interface BaseFlavor {
  key: LabFlavor;
  /** The major the node's cluster main runs once provisioned. */
  pg: PgMajor;
  /** debootstrap suite. */
  suite: string;
  /** debootstrap --include list. */
  packages: readonly string[];
  /** Installed afterwards from Debian experimental with apt (pinned `pkg/experimental`), or none. */
  experimental: readonly string[];
  /** sid's systemd (>= 258) refuses a cgroup-v1 host unless nspawn gives it the unified hierarchy. */
  unifiedCgroup: boolean;
  /**
   * Installed afterwards from another suite (its source added, each package pinned `pkg/suite`), or none; `first`
   * is installed unpinned just before (apt 3's solver finds no way to trixie's 17 on a bare sid without it).
   */
  pinned?: { suite: string; packages: readonly string[]; first: readonly string[] };
  /** Majors whose .debs the base holds, downloaded only (apt-get install --download-only), or none. */
  cached?: readonly CachedMajor[];
}

const withPg = (pkg: string | null): string[] =>
  BASE_PACKAGES.flatMap((p) => (p === 'postgresql-17' ? (pkg === null ? [] : [pkg]) : [p]));

const PG19 = ['postgresql-19', 'postgresql-client-19', 'libpq5'] as const;

/**
 * Why: sid has 18; 19 (a release candidate so far) is only in experimental, with its libpq5. 17+ is sid (where
 * 18 is the default and 19 in experimental) with trixie's 17 installed, so an operator's later upgrade finds
 * the newer packages in the same apt lists the base was built with.
 */
const FLAVORS: Record<LabFlavor, BaseFlavor> = {
  17: { key: 17, pg: 17, suite: 'trixie', packages: BASE_PACKAGES, experimental: [], unifiedCgroup: false },
  18: { key: 18, pg: 18, suite: 'sid', packages: withPg('postgresql-18'), experimental: [], unifiedCgroup: true },
  19: {
    key: 19,
    pg: 19,
    suite: 'sid',
    // apt installs these three from experimental and what they need (postgresql-common…) from sid.
    packages: withPg(null),
    experimental: PG19,
    unifiedCgroup: true,
  },
  '17+': {
    key: '17+',
    pg: 17,
    suite: 'sid',
    packages: withPg(null),
    experimental: [],
    unifiedCgroup: true,
    pinned: {
      suite: 'trixie',
      packages: ['postgresql-17', 'postgresql-client-17'],
      first: ['postgresql-common', 'postgresql-client-common'],
    },
    cached: [
      { major: 18, packages: ['postgresql-18', 'postgresql-client-18'], dir: `${CACHED_DEBS_DIR}/18` },
      { major: 19, packages: PG19.map((p) => `${p}/experimental`), dir: `${CACHED_DEBS_DIR}/19` },
    ],
  },
  // sid's 18, as FS PBX's installer leaves it on Debian 13's successor, with 19 cached: the 18 -> 19 upgrade.
  '18+': {
    key: '18+',
    pg: 18,
    suite: 'sid',
    packages: withPg('postgresql-18'),
    experimental: [],
    unifiedCgroup: true,
    cached: [{ major: 19, packages: PG19.map((p) => `${p}/experimental`), dir: `${CACHED_DEBS_DIR}/19` }],
  },
};

/** Why: one lookup that refuses a flavor the lab cannot build, naming the ones it can. */
export function flavorOf(key: number | string): BaseFlavor {
  const f = (FLAVORS as Record<string, BaseFlavor | undefined>)[String(key)];
  if (f === undefined) throw new LabError(`no lab base for PostgreSQL ${key} (the lab has ${LAB_FLAVORS.join(', ')})`);
  return f;
}

/** Why: the CLI's `--pg a=17+` and tests name a flavor as text; numbers stay numbers (17, not '17'). */
export function parseFlavor(word: string): LabFlavor | null {
  return LAB_FLAVORS.find((f) => String(f) === word) ?? null;
}

/** Why: cache key = sha256(packages + provisioning version + suite/mirror); 17's key is unchanged from before. */
export function baseHash(flavor: LabFlavor = DEFAULT_PG_MAJOR): string {
  const f = flavorOf(flavor);
  const key = JSON.stringify({
    packages: f.packages,
    version: PROVISION_VERSION,
    suite: f.suite,
    mirror: MIRROR,
    variant: 'minbase',
    ...(f.experimental.length > 0 ? { experimental: f.experimental } : {}),
    ...(f.pinned ? { pinned: f.pinned } : {}),
    ...(f.cached ? { cached: f.cached } : {}),
  });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Why: where the finished base of a flavor lives (trusted only with its marker). */
export function basePath(flavor: LabFlavor = DEFAULT_PG_MAJOR): string {
  return `${PATHS.cacheDir}/base-${baseHash(flavor)}`;
}

/** Why: pruning keeps every current base, not only the one just built. */
export function currentBasePaths(): string[] {
  return LAB_FLAVORS.map((v) => basePath(v));
}
