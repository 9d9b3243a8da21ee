// Host prerequisites: root, and the Debian tools the lab drives (installed on demand).
import { accessSync, constants } from 'node:fs';
import { SAFE_PATH } from './constants.js';
import { LabError, run, say } from './sh.js';

/** Tool -> Debian package providing it. */
const TOOLS: Record<string, string> = {
  debootstrap: 'debootstrap',
  'systemd-nspawn': 'systemd-container',
  ip: 'iproute2',
  iptables: 'iptables',
  nsenter: 'util-linux',
  flock: 'util-linux',
};

function hasTool(name: string): boolean {
  for (const dir of `${SAFE_PATH}:${process.env.PATH ?? ''}`.split(':')) {
    if (!dir) continue;
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return true;
    } catch {
      /* keep looking */
    }
  }
  return false;
}

/** Why: namespaces, mounts and nspawn all need root; fail early with one clear line. */
export function ensureRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError('the lab needs root (namespaces, mounts, systemd-nspawn); run it as root');
  }
}

/** Why: CI hosts start bare; install exactly what is missing, non-interactively. */
export async function ensureHostTools(): Promise<void> {
  const missing = Object.keys(TOOLS).filter((t) => !hasTool(t));
  if (missing.length === 0) return;
  const pkgs = ['debootstrap', 'systemd-container', 'iproute2', 'iptables'];
  say(`installing host prerequisites (missing: ${missing.join(', ')})…`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, timeoutMs: 600_000 });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env, timeoutMs: 900_000 });
  const still = Object.keys(TOOLS).filter((t) => !hasTool(t));
  if (still.length > 0) throw new LabError(`still missing after apt-get install: ${still.join(', ')}`);
}
