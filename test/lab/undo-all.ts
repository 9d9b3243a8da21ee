import { agentOk, agentRpc } from './agent-rpc.js';
import type { NodeName } from './constants.js';
import { waitFor } from './http.js';
import { trySql } from './sql.js';

type Entry = { id: string; action: string; undone: boolean };

/** Entries that create or drop subscriptions: undone first, among themselves newest first (a drop's undo re-creates). */
const SUBSCRIPTION_ACTIONS = new Set(['subscription', 'subscription-adopt', 'subscription-drop']);

// A subscription dropped while the peer's walsender for it is still exiting leaves its slot behind ("slot is
// active"); with wal_level back to replica that slot would keep PostgreSQL from starting.
const DROP_LEFT_SLOTS = `select count(pg_drop_replication_slot(slot_name)) from pg_replication_slots where slot_type = 'logical' and not active;
select count(*) from pg_replication_slots where slot_type = 'logical';`;

/**
 * Undoes every pending journal entry on both nodes, newest first, subscriptions before anything else,
 * then restarts PostgreSQL so restored settings are live: how lab tests put a pair back as it was.
 * Returns the undos that failed, each with the agent's error.
 */
export async function undoEverything(): Promise<string[]> {
  const pending = async (node: NodeName) =>
    (await agentOk<Entry[]>(node, 'journal.list')).filter((e) => !e.undone).reverse();
  const failed = new Map<string, string>();
  const superseded = new Set<string>();
  const undo = async (node: NodeName, e: Entry) => {
    const r = await agentRpc(node, 'journal.undo', { id: e.id });
    if (r.ok) failed.delete(e.id);
    else failed.set(e.id, `undo of ${e.action} ${e.id} on ${node}: ${r.error.code}: ${r.error.message}`);
  };
  for (const node of ['a', 'b'] as const) {
    const subs = (await pending(node)).filter((x) => SUBSCRIPTION_ACTIONS.has(x.action));
    // A drop's undo re-creates the subscription: only worth it while an older entry will drop it again.
    // After teardown (which leaves drops alone) nothing would, and a subscription would be left behind.
    for (const [i, e] of subs.entries()) {
      if (e.action !== 'subscription-drop' || subs.slice(i + 1).some((x) => x.action === 'subscription'))
        await undo(node, e);
      else superseded.add(e.id);
    }
  }
  for (const node of ['a', 'b'] as const)
    await waitFor(
      `no logical slot left on ${node}`,
      async () => (await trySql(node, DROP_LEFT_SLOTS))?.split('\n').at(-1),
      (n) => n === undefined || n === '0',
      120_000,
    );
  for (const node of ['a', 'b'] as const)
    for (const e of await pending(node)) if (!superseded.has(e.id)) await undo(node, e);
  for (const node of ['a', 'b'] as const) await agentRpc(node, 'pg-service.restart', {});
  return [...failed.values()];
}

/** An entry still to undo; a drop whose subscription teardown removed stays pending by design (see undoEverything). */
export const countsAsPending = (e: { action: string; undone: boolean }): boolean =>
  !e.undone && e.action !== 'subscription-drop';

/** Pending (not undone) journal entries per node: a lab test compares them before and after itself. */
export async function pendingJournalCounts(): Promise<Record<NodeName, number>> {
  const count = async (node: NodeName) => (await agentOk<Entry[]>(node, 'journal.list')).filter(countsAsPending).length;
  return { a: await count('a'), b: await count('b') };
}
