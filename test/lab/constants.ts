// Fixed names, paths and addresses of the lab; everything else derives from these.

/** A lab node name; the lab always has exactly these two nodes. */
export type NodeName = 'a' | 'b';

/** Why: one place for the node list so loops over nodes never drift. */
export const NODE_NAMES: readonly NodeName[] = ['a', 'b'];

/** Why: tests and the CLI need the topology (namespaces, addresses) without reading state. */
export const LAB = {
  switchNs: 'pgdx-sw',
  bridge: 'br0',
  prefix4: '10.231.7.0/24',
  prefix6: 'fd00:231:7::/64',
  nodes: {
    a: { name: 'a', netns: 'pgdx-a', hostname: 'a', ipv4: '10.231.7.11', ipv6: 'fd00:231:7::11', swPort: 'sw-a' },
    b: { name: 'b', netns: 'pgdx-b', hostname: 'b', ipv4: '10.231.7.12', ipv6: 'fd00:231:7::12', swPort: 'sw-b' },
  },
  outsider: { name: 'x', netns: 'pgdx-x', ipv4: '10.231.7.99', ipv6: 'fd00:231:7::99', swPort: 'sw-x' },
  iface: 'eth0',
  pgVersion: 17,
  pgPort: 5432,
  database: 'fusionpbx',
  dbUser: 'fusionpbx',
  /** TCP/UDP ports FS PBX opens in its firewall; everything else inbound is dropped. */
  openTcp: [22, 80, 443, 7443],
  openUdp: '5060:5091',
} as const;

/** Why: all lab namespaces, for creation order and for leftover cleanup. */
export const LAB_NAMESPACES: readonly string[] = [
  LAB.switchNs,
  LAB.nodes.a.netns,
  LAB.nodes.b.netns,
  LAB.outsider.netns,
];

/** Why: the on-host locations the lab owns (and is allowed to delete). */
export const PATHS = {
  cacheDir: '/var/cache/pgduplex-lab',
  stateDir: '/var/lib/pgduplex-lab',
  nodesDir: '/var/lib/pgduplex-lab/nodes',
  stateFile: '/var/lib/pgduplex-lab/state.json',
} as const;

/** Why: per-node directory layout of the overlay (upper/work/merged) and console log. */
export function nodePaths(node: NodeName): { dir: string; upper: string; work: string; merged: string; console: string } {
  const dir = `${PATHS.nodesDir}/${node}`;
  return { dir, upper: `${dir}/upper`, work: `${dir}/work`, merged: `${dir}/merged`, console: `${dir}/console.log` };
}

/** Why: host commands must find sbin tools even under a minimal sudo/CI PATH. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
