import { agentOk, agentRpc } from './agent-rpc.js';
import { LAB, type NodeName } from './constants.js';

/**
 * Makes a node's PostgreSQL answer on its lab addresses, through pgduplex's own pg-settings action as
 * setup does (FS PBX leaves Debian's `localhost`), for a test of one action that needs a TCP peer.
 * Returns what undoes it; provisioning never does this.
 */
export async function listenOnLabAddresses(node: NodeName): Promise<() => Promise<void>> {
  const n = LAB.nodes[node];
  const r = await agentOk<{ journalId?: string }>(node, 'pg-settings.apply', {
    settings: { listen_addresses: `localhost,${n.ipv4},${n.ipv6}` },
  });
  await agentOk(node, 'pg-service.restart', {});
  return async () => {
    if (r.journalId) await agentRpc(node, 'journal.undo', { id: r.journalId });
    await agentRpc(node, 'pg-service.restart', {});
  };
}
