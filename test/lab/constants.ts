// Fixed names, paths and addresses of the lab; everything else derives from these.
import { parseLabId } from './labid.js';

/** This process's lab id (from PGDX_LAB_ID at module load); null for the default lab. */
export const LAB_ID: string | null = parseLabId(process.env.PGDX_LAB_ID);

/** Why: every host-visible name (namespaces, nspawn machines, overlay sources) carries the id. */
const NAME_PREFIX = `pgdx${LAB_ID ?? ''}`;

/** Why: error messages tell how to start *this* lab (with its id). */
export const LAB_UP_HINT = `start the lab: ${LAB_ID === null ? '' : `PGDX_LAB_ID=${LAB_ID} `}npm run lab -- up`;

/** A lab node name; the lab always has exactly these two nodes. */
export type NodeName = 'a' | 'b';

/** Why: one place for the node list so loops over nodes never drift. */
export const NODE_NAMES: readonly NodeName[] = ['a', 'b'];

/** Why: tests and the CLI need the topology (namespaces, addresses) without reading state. */
export const LAB = {
  switchNs: `${NAME_PREFIX}-sw`,
  bridge: 'br0',
  prefix4: '10.231.7.0/24',
  prefix6: 'fd00:231:7::/64',
  nodes: {
    a: {
      name: 'a',
      netns: `${NAME_PREFIX}-a`,
      hostname: 'a',
      ipv4: '10.231.7.11',
      ipv6: 'fd00:231:7::11',
      swPort: 'sw-a',
    },
    b: {
      name: 'b',
      netns: `${NAME_PREFIX}-b`,
      hostname: 'b',
      ipv4: '10.231.7.12',
      ipv6: 'fd00:231:7::12',
      swPort: 'sw-b',
    },
  },
  outsider: { name: 'x', netns: `${NAME_PREFIX}-x`, ipv4: '10.231.7.99', ipv6: 'fd00:231:7::99', swPort: 'sw-x' },
  iface: 'eth0',
  pgVersion: 17,
  pgPort: 5432,
  database: 'fusionpbx',
  dbUser: 'fusionpbx',
  /** IPv4 ports FS PBX's install/configure_iptables.sh opens; everything else inbound is dropped. */
  openTcp: ['22', '80', '443', '7443', '5060:5091', '35000', '36000:36011'],
  openUdp: ['5060:5091', '35000', '36000:36011', '16384:32768', '1194'],
} as const;

/** Why: all lab namespaces, for creation order and for leftover cleanup. */
export const LAB_NAMESPACES: readonly string[] = [
  LAB.switchNs,
  LAB.nodes.a.netns,
  LAB.nodes.b.netns,
  LAB.outsider.netns,
];

/** Why: nspawn --machine= name of a node; unique per lab id (nspawn keys /run/systemd/nspawn/* on it). */
export function machineName(node: NodeName): string {
  return `${NAME_PREFIX}-${node}`;
}

/** Why: the overlay's mount source, so `findmnt` shows which lab (and node) a mount belongs to. */
export function overlaySource(node: NodeName): string {
  return LAB_ID === null ? `pgduplex-lab-${node}` : `pgduplex-lab-${LAB_ID}-${node}`;
}

const STATE_ROOT = '/var/lib/pgduplex-lab';
/** The default lab keeps its historical layout; an id'd lab lives in a subdirectory of its own. */
const LAB_DIR = LAB_ID === null ? STATE_ROOT : `${STATE_ROOT}/lab-${LAB_ID}`;

/** Why: the on-host locations the lab owns (and is allowed to delete). */
export const PATHS = {
  /** Shared by all labs: the cached base rootfs (read-only lower layer of every node). */
  cacheDir: '/var/cache/pgduplex-lab',
  /** Shared by all labs: parent of every lab's directory (mode 0700). */
  stateDir: STATE_ROOT,
  /** This lab's directory (= stateDir for the default lab). */
  labDir: LAB_DIR,
  nodesDir: `${LAB_DIR}/nodes`,
  stateFile: `${LAB_DIR}/state.json`,
} as const;

/** Why: per-node directory layout of the overlay (upper/work/merged) and console log. */
export function nodePaths(node: NodeName): {
  dir: string;
  upper: string;
  work: string;
  merged: string;
  console: string;
} {
  const dir = `${PATHS.nodesDir}/${node}`;
  return { dir, upper: `${dir}/upper`, work: `${dir}/work`, merged: `${dir}/merged`, console: `${dir}/console.log` };
}

/** Why: host commands must find sbin tools even under a minimal sudo/CI PATH. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
