// Which base rootfs a node of a given PostgreSQL major boots from: suite, packages, cache key.
import { createHash } from 'node:crypto';
import { PATHS } from './constants.js';
import { LabError } from './errors.js';

/** Why: the PostgreSQL majors a lab node can run; each has a base rootfs of its own. */
export const PG_MAJORS = [17, 18, 19] as const;

/** A PostgreSQL major a lab node can run. */
export type PgMajor = (typeof PG_MAJORS)[number];

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

/** What a base rootfs is made of. */
export interface BaseFlavor {
  pg: PgMajor;
  /** debootstrap suite. */
  suite: string;
  /** debootstrap --include list. */
  packages: readonly string[];
  /** Installed afterwards from Debian experimental with apt (pinned `pkg/experimental`), or none. */
  experimental: readonly string[];
  /** sid's systemd (>= 258) refuses a cgroup-v1 host unless nspawn gives it the unified hierarchy. */
  unifiedCgroup: boolean;
}

const withPg = (pkg: string | null): string[] =>
  BASE_PACKAGES.flatMap((p) => (p === 'postgresql-17' ? (pkg === null ? [] : [pkg]) : [p]));

/** Why: sid has 18; 19 (a release candidate so far) is only in experimental, with its libpq5. */
const FLAVORS: Record<PgMajor, BaseFlavor> = {
  17: { pg: 17, suite: 'trixie', packages: BASE_PACKAGES, experimental: [], unifiedCgroup: false },
  18: { pg: 18, suite: 'sid', packages: withPg('postgresql-18'), experimental: [], unifiedCgroup: true },
  19: {
    pg: 19,
    suite: 'sid',
    // apt installs these three from experimental and what they need (postgresql-common…) from sid.
    packages: withPg(null),
    experimental: ['postgresql-19', 'postgresql-client-19', 'libpq5'],
    unifiedCgroup: true,
  },
};

/** Why: one lookup that refuses a major the lab cannot build, naming the ones it can. */
export function flavorOf(pg: number): BaseFlavor {
  const f = (FLAVORS as Record<number, BaseFlavor | undefined>)[pg];
  if (f === undefined) throw new LabError(`no lab base for PostgreSQL ${pg} (the lab has ${PG_MAJORS.join(', ')})`);
  return f;
}

/** Why: cache key = sha256(packages + provisioning version + suite/mirror); 17's key is unchanged from before. */
export function baseHash(pg: PgMajor = DEFAULT_PG_MAJOR): string {
  const f = flavorOf(pg);
  const key = JSON.stringify({
    packages: f.packages,
    version: PROVISION_VERSION,
    suite: f.suite,
    mirror: MIRROR,
    variant: 'minbase',
    ...(f.experimental.length > 0 ? { experimental: f.experimental } : {}),
  });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Why: where the finished base for a major lives (trusted only with its marker). */
export function basePath(pg: PgMajor = DEFAULT_PG_MAJOR): string {
  return `${PATHS.cacheDir}/base-${baseHash(pg)}`;
}

/** Why: pruning keeps every current base, not only the one just built. */
export function currentBasePaths(): string[] {
  return PG_MAJORS.map((v) => basePath(v));
}
