import { agentOk, agentRpc } from './agent-rpc.js';
import type { NodeName } from './constants.js';

type Entry = { id: string; action: string; undone: boolean };

/** Entries that create or drop subscriptions: undone first, among themselves newest first (a drop's undo re-creates). */
const SUBSCRIPTION_ACTIONS = new Set(['subscription', 'subscription-drop']);

/**
 * Undoes every pending journal entry on both nodes, newest first, subscriptions before anything else,
 * then restarts PostgreSQL so restored settings are live: how lab tests put a pair back as it was.
 */
export async function undoEverything(): Promise<void> {
  const pending = async (node: NodeName) => (await agentOk<Entry[]>(node, 'journal.list')).filter((e) => !e.undone).reverse();
  for (const node of ['a', 'b'] as const) for (const e of (await pending(node)).filter((x) => SUBSCRIPTION_ACTIONS.has(x.action))) await agentRpc(node, 'journal.undo', { id: e.id });
  for (const node of ['a', 'b'] as const) for (const e of await pending(node)) await agentRpc(node, 'journal.undo', { id: e.id });
  for (const node of ['a', 'b'] as const) await agentRpc(node, 'pg-service.restart', {});
}
