// Packages from Debian experimental into a freshly debootstrapped sid base (PostgreSQL 19, a release candidate).
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { MIRROR, type BaseFlavor } from './base-flavor.js';
import { runToLog } from './build-log.js';
import { run, tryRun } from './sh.js';

const SOURCES = 'etc/apt/sources.list.d/pgduplex-lab-experimental.list';
const POLICY = 'usr/sbin/policy-rc.d';
// The mirror's sid/experimental Release files can look expired to this machine's clock.
const APT = ['apt-get', '-o', 'Acquire::Check-Valid-Until=false', '-o', 'APT::Install-Recommends=false'];

const chroot = (root: string, argv: readonly string[], log: string) =>
  runToLog(`in the new base: ${argv.join(' ')}`, ['chroot', root, ...argv], log);

/**
 * Why: 19 exists only in experimental; apt installs the flavor's packages pinned to it (the rest from sid)
 * with /proc mounted in the chroot and no service started there (policy-rc.d), then the source stays
 * listed so the node shows where its PostgreSQL came from.
 */
export async function installExperimental(root: string, flavor: BaseFlavor, log: string): Promise<void> {
  if (flavor.experimental.length === 0) return;
  writeFileSync(`${root}/${SOURCES}`, `deb ${MIRROR} experimental main\n`);
  writeFileSync(`${root}/${POLICY}`, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await run('mount', ['-t', 'proc', 'proc', `${root}/proc`]);
  try {
    await chroot(root, [...APT, 'update'], log);
    const pinned = flavor.experimental.map((p) => `${p}/experimental`);
    await chroot(root, [...APT, 'install', '-y', ...pinned], log);
    await chroot(root, ['apt-get', 'clean'], log);
  } finally {
    const r = await tryRun('umount', [`${root}/proc`]);
    if (r.exitCode !== 0) await tryRun('umount', ['-l', `${root}/proc`]);
    if (existsSync(`${root}/${POLICY}`)) rmSync(`${root}/${POLICY}`);
  }
}
