import { describe, expect, it } from 'vitest';
import {
  isEmpty,
  planTeardown,
  summarize,
  type NodeView,
  type PendingEntry,
  type SlotView,
} from '../../../coordinator/teardown/plan.js';

let n = 0;
const entry = (action: string, change = `${action} change`): PendingEntry => ({
  id: `id-${++n}`,
  action,
  changes: [change],
});
const slot = (name: string, active = false, type = 'logical'): SlotView => ({ name, type, active, retainedBytes: 100 });
const node = (
  side: 'local' | 'peer',
  name: string,
  pending: PendingEntry[],
  slots: SlotView[] = [],
  subscriptions: string[] = [],
): NodeView => ({ side, node: name, reachable: true, pending, slots, subscriptions });
const gone = (name: string): NodeView => ({ side: 'peer', node: name, reachable: false, reason: 'ECONNREFUSED' });

// What setup journals on each node, oldest first (as journal.list answers).
const setupOn = (other: string) => [
  entry('firewall'),
  entry('pg-settings'),
  entry('pg-hba'),
  entry('pg-role'),
  entry('pg-passfile'),
  entry('schema-import'),
  entry('sequences'),
  entry('publication'),
  entry('subscription', `create subscription pgduplex_from_${other}`),
];

describe('planTeardown', () => {
  it('undoes subscriptions on both nodes first, then every other change newest first, and restarts where settings are reverted', () => {
    const a = node('local', 'a', setupOn('b'), [slot('pgduplex_from_a', true)], ['pgduplex_from_b']);
    const b = node('peer', 'b', setupOn('a'), [slot('pgduplex_from_b', true)], ['pgduplex_from_a']);
    const p = planTeardown([a, b]);
    expect(p.subscriptions.map((op) => `${op.node}:${op.kind === 'undo' ? op.changes[0] : ''}`)).toEqual([
      'a:create subscription pgduplex_from_b',
      'b:create subscription pgduplex_from_a',
    ]);
    const actions = (who: string) =>
      p.changes.filter((op) => op.node === who).map((op) => (op.kind === 'undo' ? op.action : op.kind));
    expect(actions('a')).toEqual([
      'publication',
      'sequences',
      'pg-passfile',
      'pg-role',
      'pg-hba',
      'pg-settings',
      'firewall',
    ]);
    expect(actions('b')).toEqual(actions('a'));
    // Each subscription's DROP takes its slot on the other node: nothing to drop separately.
    expect(p.slots).toEqual([]);
    expect(p.restart.map((r) => r.node)).toEqual(['a', 'b']);
    expect(p.remains).toEqual([]);
  });

  it('keeps data and its own drops: schema-import, backup, backup-restore, subscription-drop and slot-drop are never undone', () => {
    const kept = ['schema-import', 'backup', 'backup-restore', 'subscription-drop', 'slot-drop'].map((x) => entry(x));
    const p = planTeardown([node('local', 'a', kept), node('peer', 'b', [])]);
    expect(isEmpty(p)).toBe(true);
  });

  it('undoes an action it does not know by name, like any other journaled change', () => {
    const p = planTeardown([node('local', 'a', [entry('replica-identity')]), node('peer', 'b', [])]);
    expect(p.changes.map((op) => (op.kind === 'undo' ? op.action : ''))).toEqual(['replica-identity']);
  });

  it('with the peer out of reach: only this node, ending the walsender of the slot the peer still streams from, and says what stays there', () => {
    const a = node(
      'local',
      'a',
      setupOn('b'),
      [slot('pgduplex_from_a', true), slot('someone_else'), slot('pgduplex_from_a_phys', false, 'physical')],
      ['pgduplex_from_b'],
    );
    const p = planTeardown([a, gone('b')]);
    expect([...p.subscriptions, ...p.changes].every((op) => op.node === 'a')).toBe(true);
    expect(p.slots).toEqual([
      expect.objectContaining({ node: 'a', slot: 'pgduplex_from_a', active: true, terminate: true }),
    ]);
    expect(p.restart.map((r) => r.node)).toEqual(['a']);
    expect(p.remains).toContain('b: subscription pgduplex_from_a');
    expect(p.remains).toContain('b: publication pgduplex_pub');
    expect(summarize(p)).toEqual([
      {
        node: 'a',
        items: [
          'subscription',
          'publication',
          'sequence increments',
          'passfile line',
          'role pgduplex_repl',
          'pg_hba.conf block',
          'replication settings',
          'firewall rules',
          'slot pgduplex_from_a',
        ],
      },
      { node: 'b', items: [] },
    ]);
  });

  it('on the later run finishes the peer and drops a slot whose subscriber is already gone', () => {
    const a = node('local', 'a', [], [], []);
    const b = node('peer', 'b', setupOn('a'), [slot('pgduplex_from_b')], ['pgduplex_from_a']);
    const p = planTeardown([a, b]);
    expect(p.subscriptions.map((op) => op.node)).toEqual(['b']);
    expect(p.slots).toEqual([
      expect.objectContaining({
        node: 'b',
        slot: 'pgduplex_from_b',
        active: false,
        terminate: false,
        why: 'no subscription on a uses it any more',
      }),
    ]);
    expect(p.restart.map((r) => r.node)).toEqual(['b']);
  });

  it('has nothing to do once both journals are undone and no slot is left', () => {
    const p = planTeardown([node('local', 'a', [], [slot('unrelated')]), node('peer', 'b', [])]);
    expect(isEmpty(p)).toBe(true);
    expect(p.restart).toEqual([]);
  });

  it("leaves what the peer's own operator made there (setup run on the peer) to a teardown run there, naming it", () => {
    const mine = (e: PendingEntry): PendingEntry => ({ ...e, origin: 'local' });
    const byUs = (e: PendingEntry): PendingEntry => ({ ...e, origin: 'peer' });
    const a = node('local', 'a', setupOn('b').map(mine));
    const b = node('peer', 'b', [entry('firewall'), ...setupOn('a').slice(1).map(mine), byUs(entry('pg-hba', 'x'))]);
    const p = planTeardown([a, b]);
    const ops = [...p.subscriptions, ...p.changes].map((op) => `${op.node}:${op.kind === 'undo' ? op.action : ''}`);
    expect(ops.filter((o) => o.startsWith('b:'))).toEqual(['b:pg-hba', 'b:firewall']);
    expect(ops.filter((o) => o.startsWith('a:'))).toHaveLength(8);
    expect(p.remains).toHaveLength(7);
    expect(p.remains.at(-1)).toBe(
      "b: subscription (create subscription pgduplex_from_a), made by b's own run: teardown on b",
    );
  });
});
