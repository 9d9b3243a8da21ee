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
