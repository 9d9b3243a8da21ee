import type { Side } from '../setup/agents.js';
import { changeNamed } from '../../shared/protocol/catalogue.js';
import { PUBLICATION, REPL_ROLE, subscriptionName } from '../setup/steps.js';

/** A journal entry not yet undone, as `journal.list` gives it. */
export interface PendingEntry {
  readonly id: string;
  readonly action: string;
  readonly changes: readonly string[];
  /** Who made it there; the peer's agent lets this node undo only what this node's calls made (not `local`). */
  readonly origin?: 'local' | 'peer';
}

/** A replication slot, as `replication.status` gives it. */
export interface SlotView {
  readonly name: string;
  readonly type: string;
  readonly active: boolean;
  readonly retainedBytes: number | null;
}

/** What teardown knows about one node before it decides; an unreachable node is only a name. */
export type NodeView =
  | {
      readonly side: Side;
      readonly node: string;
      readonly reachable: true;
      readonly pending: readonly PendingEntry[];
      readonly slots: readonly SlotView[];
      readonly subscriptions: readonly string[];
    }
  | { readonly side: Side; readonly node: string; readonly reachable: false; readonly reason: string };

/** One thing teardown does on one node: reverse a journal entry, or drop a slot nothing will drop. */
export type TeardownOp =
  | {
      readonly kind: 'undo';
      readonly side: Side;
      readonly node: string;
      readonly id: string;
      readonly action: string;
      readonly changes: readonly string[];
    }
  | {
      readonly kind: 'slot-drop';
      readonly side: Side;
      readonly node: string;
      readonly slot: string;
      readonly active: boolean;
      readonly retainedBytes: number | null;
      readonly why: string;
      readonly terminate: boolean;
    };

/** Dropping a slot that no DROP SUBSCRIPTION will remove. */
export type SlotDropOp = Extract<TeardownOp, { kind: 'slot-drop' }>;

/** The whole teardown as data: the coordinator prints it, asks about it, then runs it in this order. */
export interface TeardownPlan {
  readonly nodes: readonly [NodeView, NodeView];
  /** Subscriptions first: dropping one also drops its slot on the other node while that still answers. */
  readonly subscriptions: readonly TeardownOp[];
  /** Every other change, newest first per node, as the journal recorded it. */
  readonly changes: readonly TeardownOp[];
  /** Slots whose subscriber is gone or out of reach; last, once the peer can no longer reconnect. */
  readonly slots: readonly SlotDropOp[];
  /** Nodes whose settings are reverted: restarted afterwards only if pending_restart says so. */
  readonly restart: ReadonlyArray<{ readonly side: Side; readonly node: string }>;
  /** What stays on a node that could not be reached, until a later run. */
  readonly remains: readonly string[];
}

/**
 * Whether teardown leaves a journal entry alone: data (imported schemas, the extensions their tables use,
 * backups, restores stay, "data in place"), and its own drops, whose undo would re-create what it removed.
 */
export const isKept = (action: string): boolean => changeNamed(action)?.teardown === 'keep';

/** Subscriptions go first, on both nodes, while the other side still answers to drop their slots. */
const goesFirst = (action: string): boolean => changeNamed(action)?.teardown === 'first';

/** How the confirmation names what an action's undo removes. */
const nounOf = (action: string): string => changeNamed(action)?.noun ?? action;

const other = (nodes: readonly [NodeView, NodeView], n: NodeView): NodeView => (nodes[0] === n ? nodes[1] : nodes[0]);
/** An entry the other node's own operator made: its agent does not let this node undo it. */
const theirs = (n: NodeView, e: PendingEntry): boolean => n.side === 'peer' && e.origin === 'local';
const undoOps = (n: NodeView, keep: (action: string) => boolean): TeardownOp[] =>
  n.reachable
    ? [...n.pending]
        .reverse()
        .filter((e) => !isKept(e.action) && keep(e.action) && !theirs(n, e))
        .map((e) => ({ kind: 'undo', side: n.side, node: n.node, id: e.id, action: e.action, changes: e.changes }))
    : [];

/**
 * Slots on a node that serve the other node's subscription (named after this node) and that no DROP
 * SUBSCRIPTION will remove: the subscriber is out of reach (its walsender is ended), or gone already.
 */
export function planSlots(nodes: readonly [NodeView, NodeView]): SlotDropOp[] {
  return nodes.flatMap((n): SlotDropOp[] => {
    if (!n.reachable) return [];
    const peer = other(nodes, n);
    const name = subscriptionName(n.node);
    const slot = n.slots.find((s) => s.name === name && s.type === 'logical');
    if (!slot) return [];
    if (peer.reachable && peer.subscriptions.includes(name)) return [];
    const why = peer.reachable
      ? `no subscription on ${peer.node} uses it any more`
      : `it serves ${peer.node}'s subscription, which cannot be reached`;
    // An unreachable subscriber may be connected (or reconnecting) still: end its walsender. Otherwise a user of the
    // slot is someone else's, and the drop is refused.
    return [
      {
        kind: 'slot-drop',
        side: n.side,
        node: n.node,
        slot: name,
        active: slot.active,
        retainedBytes: slot.retainedBytes,
        why,
        terminate: !peer.reachable,
      },
    ];
  });
}

/** Decides the teardown of a pair from what both nodes (or the one that answers) report. */
export function planTeardown(nodes: readonly [NodeView, NodeView]): TeardownPlan {
  const subscriptions = nodes.flatMap((n) => undoOps(n, goesFirst));
  const changes = nodes.flatMap((n) => undoOps(n, (a) => !goesFirst(a)));
  const restart = nodes
    .filter((n) =>
      changes.some((op) => op.side === n.side && op.kind === 'undo' && changeNamed(op.action)?.restartOnUndo === true),
    )
    .map((n) => ({ side: n.side, node: n.node }));
  return {
    nodes,
    subscriptions,
    changes,
    slots: planSlots(nodes),
    restart,
    remains: nodes.flatMap((n) => (n.reachable ? leftToTheirOperator(n) : remainsOn(n, other(nodes, n)))),
  };
}

/** What only the peer's own operator may undo (setup was run there): named, with where to run teardown. */
function leftToTheirOperator(n: NodeView): string[] {
  if (!n.reachable) return [];
  return n.pending
    .filter((e) => !isKept(e.action) && theirs(n, e))
    .map((e) => `${n.node}: ${e.action} (${e.changes[0] ?? e.id}), made by ${n.node}'s own run: teardown on ${n.node}`);
}

/** What setup leaves on a node teardown could not reach; its own journal holds the exact list. */
function remainsOn(n: NodeView, from: NodeView): string[] {
  return [
    `subscription ${subscriptionName(from.node)}`,
    `publication ${PUBLICATION}`,
    `role ${REPL_ROLE} and its passfile line`,
    `the pg_hba.conf block and PostgreSQL firewall rule for ${from.node}`,
    'replication settings and sequence increments',
  ].map((what) => `${n.node}: ${what}`);
}

/** True when nothing is left to do on the nodes that answered. */
export const isEmpty = (p: TeardownPlan): boolean => p.subscriptions.length + p.changes.length + p.slots.length === 0;

/** Per node, the kinds of things the plan removes, in words for the confirmation. */
export function summarize(p: TeardownPlan): Array<{ node: string; items: string[] }> {
  return p.nodes.map((n) => {
    const ops = [...p.subscriptions, ...p.changes, ...p.slots].filter((op) => op.side === n.side);
    const items = [...new Set(ops.map((op) => (op.kind === 'slot-drop' ? `slot ${op.slot}` : nounOf(op.action))))];
    return { node: n.node, items };
  });
}
