// What works while the two agents of a pair run different pgduplex versions (one node's .deb upgraded,
// the other's not yet): replication, status and teardown do; setup waits until both run one release.
import { PgduplexError } from '../shared/errors.js';
import { VERSION } from '../shared/version.js';
import { peersListAction, whoamiAction } from '../shared/protocol/control.js';
import type { Agents } from './setup/agents.js';

/** One agent by node name and the pgduplex version it reports; null when it could not be asked. */
export interface AgentVersion {
  node: string;
  version: string | null;
}

const minor = (v: string) => v.split('.').slice(0, 2).join('.');
const parts = (v: string) => v.split('.').map((p) => Number.parseInt(p, 10) || 0);

/** Whether two versions can work together: the same major.minor (0.x minors may change the wire). */
export const compatible = (a: string, b: string): boolean => minor(a) === minor(b);

/** Why: the hint names which node to upgrade, so the versions must be ordered, not only compared. */
export function newerVersion(a: string, b: string): string {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const [p, q] = [x[i] ?? 0, y[i] ?? 0];
    if (p !== q) return p > q ? a : b;
  }
  return a;
}

const deb = (version: string) => `pgduplex_${version}_all.deb`;

/** Why: both agents' versions for status and teardown; a failure to ask must never stop either of them. */
export async function pairVersions(agents: Agents): Promise<[AgentVersion, AgentVersion] | undefined> {
  try {
    const [me, peers] = await Promise.all([
      agents.call('local', whoamiAction, {}),
      agents.call('local', peersListAction, {}),
    ]);
    const peer = peers[0];
    if (!peer) return undefined;
    return [
      { node: me.node, version: me.version },
      { node: peer.node, version: peer.peerVersion ?? null },
    ];
  } catch {
    return undefined;
  }
}

/**
 * Why: a pair halfway through an upgrade is normal, and the operator must see it and what it means.
 * Undefined when both run the same version (or one could not be asked).
 */
export function mixedVersionNote(nodes: readonly [AgentVersion, AgentVersion] | undefined): string | undefined {
  if (!nodes) return undefined;
  const [a, b] = nodes;
  if (a.version === null || b.version === null || a.version === b.version) return undefined;
  const newest = newerVersion(a.version, b.version);
  const older = a.version === newest ? b : a;
  const setup = compatible(a.version, b.version)
    ? 'setup works as well (the same release line)'
    : `setup refuses until both run ${newest}: upgrade the .deb on ${older.node} (apt install ./${deb(newest)})`;
  return (
    `the agents run different pgduplex versions (${a.node} ${a.version}, ${b.node} ${b.version}): ` +
    `replication keeps running, status and teardown work; ${setup}`
  );
}

/**
 * Why: setup changes both nodes through actions whose shape may change between releases, so it needs
 * both agents (and this CLI) on one release line; the error names both versions and the node to upgrade.
 */
export function requireOneRelease(nodes: readonly [AgentVersion, AgentVersion], cli = VERSION): void {
  const [a, b] = nodes;
  if (a.version !== null && b.version !== null && !compatible(a.version, b.version)) {
    const newest = newerVersion(a.version, b.version);
    const older = a.version === newest ? b : a;
    const what =
      `setup needs both agents on one pgduplex release: ${a.node} runs ${a.version}, ` + `${b.node} runs ${b.version}`;
    throw new PgduplexError('VERSION_MISMATCH', what, {
      hint:
        `nothing was changed; upgrade the .deb on ${older.node} (apt install ./${deb(newest)}), ` +
        'then run setup again. ' +
        'Replication keeps running meanwhile, and status and teardown work across the two versions',
    });
  }
  for (const n of nodes) {
    if (n.version !== null && !compatible(n.version, cli)) {
      const hint =
        newerVersion(n.version, cli) === cli
          ? `install ${deb(cli)} on ${n.node} (or restart its agent if it already is: systemctl restart pgduplex-agent)`
          : `run the pgduplex of the newer release, or install ${deb(n.version)} on this node too`;
      const what = `the agent on ${n.node} runs pgduplex ${n.version}, this pgduplex is ${cli}`;
      throw new PgduplexError('VERSION_MISMATCH', what, { hint: `nothing was changed; ${hint}` });
    }
  }
}
