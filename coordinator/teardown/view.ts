import { peersListAction, whoamiAction } from '../../shared/protocol/control.js';
import { journalListAction } from '../../shared/protocol/journal.js';
import { replicationStatusAction, subscriptionStatusAction } from '../../shared/protocol/replication-actions.js';
import type { Agents, Side } from '../setup/agents.js';
import { changeNamed } from '../../shared/protocol/catalogue.js';
import type { NodeView, SlotView } from './plan.js';

/** One reachable node: its journal entries not yet undone, its slots, its subscriptions in the database. */
export async function viewNode(agents: Agents, side: Side, node: string, database: string): Promise<NodeView> {
  const [entries, status, subs] = await Promise.all([
    agents.call(side, journalListAction, { pending: true }),
    agents.call(side, replicationStatusAction, {}),
    agents.call(side, subscriptionStatusAction, { database }),
  ]);
  // replication.status lists logical slots only. An entry an earlier release journaled is planned under today's name.
  const slots: SlotView[] = status.slots.map((s) => ({
    name: s.name,
    type: 'logical',
    active: s.active,
    retainedBytes: s.retainedBytes,
  }));
  return {
    side,
    node,
    reachable: true,
    pending: entries
      .filter((e) => !e.undone)
      .map(({ id, action, changes, interrupted, origin }) => ({
        id,
        action: changeNamed(action)?.name ?? action,
        ...(origin ? { origin } : {}),
        changes: interrupted
          ? changes.map((c) => `${c} (interrupted: may be in place fully, partly or not at all)`)
          : changes,
      })),
    slots,
    subscriptions: subs.map((s) => s.name),
  };
}

/** Both nodes as seen from here: this one always, the peer only when its agent answers the probe. */
export async function viewPair(agents: Agents, database: string): Promise<[NodeView, NodeView]> {
  const [me, peers] = await Promise.all([
    agents.call('local', whoamiAction, {}),
    agents.call('local', peersListAction, {}),
  ]);
  const local = await viewNode(agents, 'local', me.node, database);
  const peer = peers[0];
  if (!peer) return [local, { side: 'peer', node: 'the peer', reachable: false, reason: 'this node is not paired' }];
  if (!peer.reachable)
    return [
      local,
      { side: 'peer', node: peer.node, reachable: false, reason: peer.error ?? 'its agent does not answer' },
    ];
  return [local, await viewNode(agents, 'peer', peer.node, database)];
}

/** The same nodes read again (after the subscriptions went), keeping an unreachable one as it was. */
export async function refreshPair(
  agents: Agents,
  nodes: readonly [NodeView, NodeView],
  database: string,
): Promise<[NodeView, NodeView]> {
  const again = (n: NodeView) => (n.reachable ? viewNode(agents, n.side, n.node, database) : Promise.resolve(n));
  return Promise.all([again(nodes[0]), again(nodes[1])]);
}
