// Mount table helpers (read /proc/self/mountinfo directly; no parsing of findmnt output).
import { readFileSync } from 'node:fs';
import { run, tryRun, LabError } from './sh.js';

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Why: cleanup must find every mount at or below a lab directory, deepest first. */
export function mountsUnder(prefix: string): string[] {
  const p = prefix.replace(/\/+$/, '');
  const targets = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((t): t is string => t !== undefined)
    .map(unescape)
    .filter((t) => t === p || t.startsWith(`${p}/`));
  return [...new Set(targets)].sort((x, y) => y.length - x.length);
}

/** Why: a base rootfs that is some overlay's lower layer (any lab's node) must never be deleted. */
export function overlayLowerDirs(): string[] {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts] = line.slice(sep + 3).split(' ');
    if (fstype !== 'overlay' || superOpts === undefined) continue;
    for (const opt of unescape(superOpts).split(',')) {
      if (opt.startsWith('lowerdir='))
        for (const d of opt.slice('lowerdir='.length).split(':')) out.add(d.replace(/\/+$/, ''));
    }
  }
  return [...out];
}

/** Why: a killed build or boot can leave mounts; they must go before any rm -rf. */
export async function unmountUnder(prefix: string): Promise<void> {
  for (let pass = 0; pass < 5; pass++) {
    const targets = mountsUnder(prefix);
    if (targets.length === 0) return;
    for (const t of targets) {
      const r = await tryRun('umount', [t]);
      if (r.exitCode !== 0) await tryRun('umount', ['-l', t]);
    }
  }
  const left = mountsUnder(prefix);
  if (left.length > 0) throw new LabError(`could not unmount: ${left.join(', ')}`);
}

/** Why: deleting a lab directory must never cross into a still-mounted filesystem. */
export async function removeTree(dir: string): Promise<void> {
  await unmountUnder(dir);
  await run('rm', ['-rf', '--one-file-system', dir]);
}
