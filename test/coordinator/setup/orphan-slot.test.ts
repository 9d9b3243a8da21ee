import { fakeAgents } from '../../support/fake-agents.js';
import { describe, expect, it } from 'vitest';
import type { Agents, Side } from '../../../coordinator/setup/agents.js';
import { dropOrphanSlot } from '../../../coordinator/setup/orphan-slot.js';
import type { PairFacts } from '../../../coordinator/setup/steps.js';

const f: PairFacts = {
  database: 'fusionpbx',
  source: { side: 'local', node: 'a', address: '10.0.0.1' },
  target: { side: 'peer', node: 'b', address: '10.0.0.2' },
  pgPort: 5432,
};
type Slot = { name: string; active: boolean };

/** The source's subscriptions, the target's slots (a queue of answers, the last repeating), and every call made. */
function fake(subs: string[], slots: Slot[][]) {
  const calls: Array<{ side: Side; action: string; params: unknown }> = [];
  const agents: Agents = fakeAgents(async (side: Side, action: string, params: unknown) => {
    calls.push({ side, action, params });
    if (action === 'subscription.status') return subs.map((name) => ({ name }));
    if (action === 'replication.status') return { slots: slots.length > 1 ? slots.shift() : slots[0] };
    if (action === 'slot-drop.check') return { changes: ['drop logical slot pgduplex_from_b'] };
    if (action === 'slot-drop.apply')
      return { changed: true, changes: ['dropped slot pgduplex_from_b (0 bytes of WAL released)'], journalId: 'j1' };
    throw new Error(`unexpected ${action}`);
  });
  const lines: string[] = [];
  return {
    agents,
    calls,
    lines,
    o: {
      dryRun: false,
      report: (status: string, node: string, what: string) => void lines.push(`${status} ${node} ${what}`),
    },
  };
}

const drops = (calls: Array<{ action: string }>) =>
  calls.filter((c) => c.action.startsWith('slot-drop')).map((c) => c.action);

describe('dropOrphanSlot (a subscription on a reading b)', () => {
  it('drops, journaled on b, a slot no subscription on a uses, and says why', async () => {
    const t = fake([], [[{ name: 'pgduplex_from_b', active: false }]]);
    await dropOrphanSlot(t.agents, f, f.source, f.target, t.o);
    expect(drops(t.calls)).toEqual(['slot-drop.check', 'slot-drop.apply']);
    expect(t.calls.find((c) => c.action === 'slot-drop.apply')).toMatchObject({
      side: 'peer',
      params: { slot: 'pgduplex_from_b', confirmRetainedBytesAtLeast: 0 },
    });
    expect(t.lines[0]).toBe(
      "note b slot pgduplex_from_b was left by an interrupted run (no subscription on a uses it); it is dropped so a's subscription can be created",
    );
  });

  it('leaves the slot of an existing subscription alone', async () => {
    const t = fake(['pgduplex_from_b'], [[{ name: 'pgduplex_from_b', active: true }]]);
    await dropOrphanSlot(t.agents, f, f.source, f.target, t.o);
    expect(drops(t.calls)).toEqual([]);
  });

  it('does nothing when there is no such slot, or only other slots', async () => {
    const t = fake(
      [],
      [
        [
          { name: 'pgduplex_from_c', active: false },
          { name: 'other', active: true },
        ],
      ],
    );
    await dropOrphanSlot(t.agents, f, f.source, f.target, t.o);
    expect(drops(t.calls)).toEqual([]);
  });

  it('waits for the walsender of the cut-short run to go, then drops', async () => {
    const t = fake([], [[{ name: 'pgduplex_from_b', active: true }], [{ name: 'pgduplex_from_b', active: false }]]);
    await dropOrphanSlot(t.agents, f, f.source, f.target, t.o, 5000);
    expect(drops(t.calls)).toEqual(['slot-drop.check', 'slot-drop.apply']);
  });

  it('refuses a slot that stays in use, naming it, and drops nothing', async () => {
    const t = fake([], [[{ name: 'pgduplex_from_b', active: true }]]);
    const err = await dropOrphanSlot(t.agents, f, f.source, f.target, t.o, 0).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'BUSY',
      message:
        'the replication slot pgduplex_from_b on b is in use, yet a has no subscription pgduplex_from_b: another server streams from it',
    });
    expect(drops(t.calls)).toEqual([]);
  });

  it('in a dry run only says what it would drop', async () => {
    const t = fake([], [[{ name: 'pgduplex_from_b', active: false }]]);
    await dropOrphanSlot(t.agents, f, f.source, f.target, { ...t.o, dryRun: true });
    expect(drops(t.calls)).toEqual(['slot-drop.check']);
    expect(t.lines.at(-1)).toBe('would b slot-drop: drop logical slot pgduplex_from_b');
  });
});
