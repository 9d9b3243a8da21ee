import type { Agents, Side } from '../setup/agents.js';
import type { ReplicationSnapshot } from '../../shared/replication.js';
import { currentActionName } from '../../shared/protocol/action-names.js';
import type { NodeView, SlotView } from './plan.js';

type Entry = { id: string; action: string; changes: string[]; undone: boolean; interrupted: boolean };

/** One reachable node: its journal entries not yet undone, its slots, its subscriptions in the database. */
export async function viewNode(agents: Agents, side: Side, node: string, database: string): Promise<NodeView> {
  const [entries, status, subs] = await Promise.all([
    agents.call<Entry[]>(side, 'journal.list', { pending: true }),
    agents.call<ReplicationSnapshot>(side, 'replication.status', {}),
    agents.call<Array<{ name: string }>>(side, 'subscription.status', { database }),
  ]);
  // replication.status lists logical slots only. An entry an earlier release journaled is planned under today's name.
  const slots: SlotView[] = status.slots.map((s) => ({ name: s.name, type: 'logical', active: s.active, retainedBytes: s.retainedBytes }));
  return { side, node, reachable: true, pending: entries.filter((e) => !e.undone).map(({ id, action, changes, interrupted }) => ({ id, action: currentActionName(action), changes: interrupted ? changes.map((c) => `${c} (interrupted: may be in place fully, partly or not at all)`) : changes })), slots, subscriptions: subs.map((s) => s.name) };
}

/** Both nodes as seen from here: this one always, the peer only when its agent answers the probe. */
export async function viewPair(agents: Agents, database: string): Promise<[NodeView, NodeView]> {
  const [me, peers] = await Promise.all([
    agents.call<{ node: string }>('local', 'whoami', {}),
    agents.call<Array<{ node: string; reachable: boolean; error?: string }>>('local', 'peers.list', {}),
  ]);
  const local = await viewNode(agents, 'local', me.node, database);
  const peer = peers[0];
  if (!peer) return [local, { side: 'peer', node: 'the peer', reachable: false, reason: 'this node is not paired' }];
  if (!peer.reachable) return [local, { side: 'peer', node: peer.node, reachable: false, reason: peer.error ?? 'its agent does not answer' }];
  return [local, await viewNode(agents, 'peer', peer.node, database)];
}

/** The same nodes read again (after the subscriptions went), keeping an unreachable one as it was. */
export async function refreshPair(agents: Agents, nodes: readonly [NodeView, NodeView], database: string): Promise<[NodeView, NodeView]> {
  const again = (n: NodeView) => (n.reachable ? viewNode(agents, n.side, n.node, database) : Promise.resolve(n));
  return Promise.all([again(nodes[0]), again(nodes[1])]);
}
