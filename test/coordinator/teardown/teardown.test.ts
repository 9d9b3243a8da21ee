import { describe, expect, it } from 'vitest';
import type { Side } from '../../../coordinator/setup/agents.js';
import { fakeAgents } from '../../support/fake-agents.js';
import { teardown, type TeardownOptions } from '../../../coordinator/teardown/teardown.js';
import { PgduplexError } from '../../../shared/errors.js';

type Entry = { id: string; action: string; changes: string[]; undone: boolean };
type Node = {
  node: string;
  entries: Entry[];
  slots: Array<{ name: string; type: string; active: boolean; retainedBytes: number }>;
  subs: string[];
  pendingRestart: boolean;
};

const MUTATING = new Set(['journal.undo', 'slot-drop.apply', 'pg-service.restart']);

/** Two agents in memory that behave like the real ones where teardown depends on it. */
function fakePair(o: { peerReachable?: boolean; extraSlotOnA?: string } = {}) {
  let seq = 0;
  const setup = (other: string): Entry[] =>
    ['firewall', 'pg-settings', 'pg-hba', 'pg-role', 'schema-import', 'publication', 'subscription'].map((action) => ({
      id: `e${++seq}`,
      action,
      changes: [`${action} for ${other}`],
      undone: false,
    }));
  const nodes: Record<Side, Node> = {
    local: {
      node: 'a',
      entries: setup('b'),
      slots: [{ name: 'pgduplex_from_a', type: 'logical', active: true, retainedBytes: 10 }],
      subs: ['pgduplex_from_b'],
      pendingRestart: false,
    },
    peer: {
      node: 'b',
      entries: setup('a'),
      slots: [{ name: 'pgduplex_from_b', type: 'logical', active: true, retainedBytes: 10 }],
      subs: ['pgduplex_from_a'],
      pendingRestart: false,
    },
  };
  if (o.extraSlotOnA)
    nodes.local.slots.push({ name: o.extraSlotOnA, type: 'logical', active: false, retainedBytes: 0 });
  const calls: string[] = [];
  const other = (side: Side): Side => (side === 'local' ? 'peer' : 'local');
  const handle = (side: Side, action: string, params: Record<string, unknown>): unknown => {
    const n = nodes[side];
    if (side === 'peer' && o.peerReachable === false) throw new PgduplexError('AGENT_UNREACHABLE', 'peer is down');
    switch (action) {
      case 'whoami':
        return { node: n.node };
      case 'peers.list':
        return [{ node: 'b', reachable: o.peerReachable !== false }];
      case 'journal.list':
        return n.entries.map((e) => ({ ...e }));
      case 'replication.status':
        return { slots: n.slots };
      case 'subscription.status':
        return n.subs.map((name) => ({ name }));
      case 'facts':
        return { postgresql: { ready: true, settings: { wal_level: { pendingRestart: n.pendingRestart } } } };
      case 'journal.undo': {
        const e = n.entries.find((x) => x.id === params['id']);
        if (!e || e.undone) throw new PgduplexError('BAD_PARAMS', 'no such entry');
        e.undone = true;
        if (e.action === 'subscription') {
          const sub = n.subs.pop() ?? '';
          // DROP SUBSCRIPTION drops the slot on the publisher, when it answers.
          if (!(side === 'local' && o.peerReachable === false))
            nodes[other(side)].slots = nodes[other(side)].slots.filter((s) => s.name !== sub);
        }
        if (e.action === 'pg-settings') n.pendingRestart = true;
        return { undone: [`undid ${e.action}`] };
      }
      case 'slot-drop.check':
        return { changes: n.slots.some((s) => s.name === params['slot']) ? ['drop it'] : [] };
      case 'slot-drop.apply':
        n.slots = n.slots.filter((s) => s.name !== params['slot']);
        return { changed: true, changes: ['dropped'] };
      case 'pg-service.restart':
        n.pendingRestart = false;
        return {};
      default:
        throw new Error(`unexpected ${action}`);
    }
  };
  const agents = fakeAgents(async (side, action, params) => {
    calls.push(`${nodes[side].node} ${action}${action === 'slot-drop.apply' ? ` ${JSON.stringify(params)}` : ''}`);
    return handle(side, action, (params ?? {}) as Record<string, unknown>);
  });
  return { agents, calls, nodes, mutations: () => calls.filter((c) => MUTATING.has(c.split(' ')[1] ?? '')) };
}

const opts = (over: Partial<TeardownOptions> = {}): TeardownOptions & { lines: string[] } => {
  const lines: string[] = [];
  return {
    database: 'fusionpbx',
    dryRun: false,
    yes: true,
    report: (s, n, w) => void lines.push(`${s} ${n} ${w}`),
    lines,
    ...over,
  };
};

describe('teardown (coordinator, against two in-memory agents)', () => {
  it('refuses without --yes when there is no terminal, and changes nothing', async () => {
    const f = fakePair();
    await expect(teardown(f.agents, opts({ yes: false }))).rejects.toMatchObject({
      code: 'NOT_CONFIRMED',
      message: expect.stringContaining('no terminal'),
    });
    expect(f.mutations()).toEqual([]);
  });

  it('asks naming both nodes and what goes on each; a "no" changes nothing', async () => {
    const f = fakePair();
    let asked = '';
    const o = opts({ yes: false, confirm: async (q) => ((asked = q), false) });
    await expect(teardown(f.agents, o)).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    expect(asked).toContain('between a and b');
    expect(asked).toMatch(
      /a: subscription, publication, role pgduplex_repl, pg_hba\.conf block, replication settings, firewall rules/,
    );
    expect(asked).toContain('Table data stays');
    expect(f.mutations()).toEqual([]);
  });

  it('a dry run prints the plan and calls nothing that changes', async () => {
    const f = fakePair();
    const o = opts({ dryRun: true, yes: false });
    expect((await teardown(f.agents, o)).outcome).toBe('dry run');
    expect(o.lines.filter((l) => l.startsWith('would '))).toHaveLength(2 * 6 + 2);
    expect(f.mutations()).toEqual([]);
  });

  it('drops both subscriptions before anything else, keeps the schema import, restarts both, then has nothing to do', async () => {
    const f = fakePair();
    expect((await teardown(f.agents, opts())).outcome).toBe('done');
    const undos = f.mutations().filter((c) => c.includes('journal.undo'));
    expect(undos).toHaveLength(12);
    const undone = (side: Side) => f.nodes[side].entries.filter((e) => e.undone).map((e) => e.action);
    expect(undone('local')).not.toContain('schema-import');
    expect(f.calls.indexOf('b journal.undo')).toBeLessThan(f.calls.lastIndexOf('a journal.undo'));
    expect(
      f
        .mutations()
        .filter((c) => c.includes('restart'))
        .sort(),
    ).toEqual(['a pg-service.restart', 'b pg-service.restart']);
    expect(f.mutations().some((c) => c.includes('slot-drop'))).toBe(false);
    const again = fakePair();
    Object.assign(again.nodes, f.nodes);
    const o = opts();
    expect((await teardown(again.agents, o)).outcome).toBe('nothing to do');
    expect(again.mutations()).toEqual([]);
  });

  it('with the peer down: undoes this node, ends the walsender of the peer slot before dropping it, and reports partial', async () => {
    const f = fakePair({ peerReachable: false });
    const r = await teardown(f.agents, opts());
    expect(r.outcome).toBe('partial');
    expect(r.remaining).toContain('b: subscription pgduplex_from_a');
    expect(f.mutations()).toContain(
      'a slot-drop.apply {"slot":"pgduplex_from_a","confirmRetainedBytesAtLeast":0,"terminate":true}',
    );
    expect(f.mutations().at(-1)).toBe('a pg-service.restart');
  });

  it('does not restart into a wal_level that a logical slot left behind would refuse', async () => {
    const f = fakePair({ extraSlotOnA: 'someone_elses_slot' });
    const r = await teardown(f.agents, opts());
    expect(r.outcome).toBe('incomplete');
    expect(r.remaining).toContain('a: a restart for wal_level, once slots someone_elses_slot are gone');
    expect(f.mutations()).not.toContain('a pg-service.restart');
    expect(f.mutations()).toContain('b pg-service.restart');
  });
});
