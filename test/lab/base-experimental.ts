// Packages from other suites into a freshly debootstrapped sid base: PostgreSQL 19 from experimental (a release
// candidate), or (flavor 17+) trixie's 17 installed and the .debs of 18 and 19 downloaded for later.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { MIRROR, type BaseFlavor } from './base-flavor.js';
import { runToLog } from './build-log.js';
import { run, tryRun } from './sh.js';

const SOURCES = 'etc/apt/sources.list.d';
const POLICY = 'usr/sbin/policy-rc.d';
// The mirror's sid/experimental Release files can look expired to this machine's clock.
const APT = ['apt-get', '-o', 'Acquire::Check-Valid-Until=false', '-o', 'APT::Install-Recommends=false'];

const chroot = (root: string, argv: readonly string[], log: string) =>
  runToLog(`in the new base: ${argv.join(' ')}`, ['chroot', root, ...argv], log);

/** The suites a flavor needs beyond its debootstrap suite (each gets a sources.list.d file that stays). */
function extraSuites(flavor: BaseFlavor): string[] {
  const suites = new Set<string>();
  if (flavor.experimental.length > 0) suites.add('experimental');
  if (flavor.pinned) suites.add(flavor.pinned.suite);
  for (const c of flavor.cached ?? []) for (const p of c.packages) suites.add(p.split('/')[1] ?? flavor.suite);
  suites.delete(flavor.suite);
  return [...suites];
}

/**
 * Why: 19 exists only in experimental, and 17+ runs trixie's 17 on sid; apt installs the flavor's packages
 * pinned to their suite (the rest from sid) with /proc mounted in the chroot and no service started there
 * (policy-rc.d), then downloads (without installing) each cached major's packages and what they need into a
 * directory of its own. The sources stay listed, and so do apt's lists, so the node shows where its PostgreSQL
 * came from and can install the cached .debs offline.
 */
export async function installExperimental(root: string, flavor: BaseFlavor, log: string): Promise<void> {
  const suites = extraSuites(flavor);
  if (suites.length === 0) return;
  for (const s of suites) writeFileSync(`${root}/${SOURCES}/pgduplex-lab-${s}.list`, `deb ${MIRROR} ${s} main\n`);
  writeFileSync(`${root}/${POLICY}`, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await run('mount', ['-t', 'proc', 'proc', `${root}/proc`]);
  try {
    await chroot(root, [...APT, 'update'], log);
    const pinned = [
      ...flavor.experimental.map((p) => `${p}/experimental`),
      ...(flavor.pinned?.packages.map((p) => `${p}/${flavor.pinned?.suite}`) ?? []),
    ];
    if (flavor.pinned) await chroot(root, [...APT, 'install', '-y', ...flavor.pinned.first], log);
    if (pinned.length > 0) await chroot(root, [...APT, 'install', '-y', ...pinned], log);
    for (const c of flavor.cached ?? []) {
      mkdirSync(`${root}${c.dir}/partial`, { recursive: true, mode: 0o755 });
      const archive = ['-o', `Dir::Cache::archives=${c.dir}/`];
      await chroot(root, [...APT, ...archive, 'install', '--download-only', '-y', ...c.packages], log);
    }
    await chroot(root, ['apt-get', 'clean'], log);
  } finally {
    const r = await tryRun('umount', [`${root}/proc`]);
    if (r.exitCode !== 0) await tryRun('umount', ['-l', `${root}/proc`]);
    if (existsSync(`${root}/${POLICY}`)) rmSync(`${root}/${POLICY}`);
  }
}
