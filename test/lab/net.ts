// The lab segment: a switch namespace with a bridge, and one veth per node/outsider namespace.
import { LAB, LAB_NAMESPACES } from './constants.js';
import { run, tryRun, say } from './sh.js';
import { signal } from './proc.js';

/** Why: leftover detection and status both need the lab namespaces that exist right now. */
export async function labNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  const names = out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
  return names.filter((n) => LAB_NAMESPACES.includes(n));
}

async function nsSysctl(ns: string, key: string, value: string): Promise<void> {
  const path = `/proc/sys/${key.replace(/\./g, '/')}`;
  await run('ip', ['netns', 'exec', ns, 'sh', '-c', `echo ${value} > ${path}`]);
}

async function addEndpoint(ns: string, swPort: string, ipv4: string, ipv6: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', LAB.switchNs, 'link', 'add', swPort, 'type', 'veth', 'peer', 'name', LAB.iface, 'netns', ns]);
  await run('ip', ['-n', LAB.switchNs, 'link', 'set', swPort, 'master', LAB.bridge]);
  await run('ip', ['-n', LAB.switchNs, 'link', 'set', swPort, 'up']);
  await run('ip', ['-n', ns, 'addr', 'add', `${ipv4}/24`, 'dev', LAB.iface]);
  await run('ip', ['-n', ns, 'addr', 'add', `${ipv6}/64`, 'dev', LAB.iface, 'nodad']);
  await run('ip', ['-n', ns, 'link', 'set', LAB.iface, 'up']);
}

/** Why: builds the isolated segment; no default routes, so nothing can leave it. */
export async function netUp(): Promise<void> {
  say('creating network namespaces and bridge');
  await run('ip', ['netns', 'add', LAB.switchNs]);
  await run('ip', ['-n', LAB.switchNs, 'link', 'set', 'lo', 'up']);
  // The switch only forwards frames; it needs no addresses of its own (not even link-local).
  await nsSysctl(LAB.switchNs, 'net.ipv6.conf.all.disable_ipv6', '1');
  await nsSysctl(LAB.switchNs, 'net.ipv6.conf.default.disable_ipv6', '1');
  await run('ip', ['-n', LAB.switchNs, 'link', 'add', LAB.bridge, 'type', 'bridge', 'stp_state', '0']);
  await run('ip', ['-n', LAB.switchNs, 'link', 'set', LAB.bridge, 'up']);
  for (const ep of [LAB.nodes.a, LAB.nodes.b, LAB.outsider]) {
    await addEndpoint(ep.netns, ep.swPort, ep.ipv4, ep.ipv6);
  }
}

/** Why: deleting a namespace only drops its name; processes left inside must go too. */
export async function netDown(): Promise<void> {
  for (const ns of await labNamespaces()) {
    const pids = (await tryRun('ip', ['netns', 'pids', ns])).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of pids) signal(pid, 'SIGKILL');
    await run('ip', ['netns', 'del', ns]);
  }
}

/** Why: status shows the addresses actually configured, not the ones we meant to configure. */
export async function nsAddresses(ns: string): Promise<string[]> {
  const r = await tryRun('ip', ['-n', ns, '-br', 'addr', 'show', 'dev', LAB.iface]);
  if (r.exitCode !== 0) return [];
  return r.stdout
    .trim()
    .split(/\s+/)
    .slice(2)
    .filter((a) => !a.startsWith('fe80:'));
}
