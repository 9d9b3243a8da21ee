import { describe, expect, it } from 'vitest';
import { checkConflicts } from '../../../coordinator/status/conflicts.js';
import type { Agents, Side } from '../../../coordinator/setup/agents.js';
import { PgduplexError } from '../../../shared/errors.js';

// The check's paths that need no PostgreSQL: a pair without counters, an agent that predates the check, and a
// counter that rose with no key left in the log. The compare itself runs on the 18↔18 lab
// (status-conflicts.lab.test.ts).
type Answer = (side: Side, params: Record<string, unknown>) => unknown;
const agentsOf = (answers: Record<string, Answer>, calls: string[] = []): Agents => ({
  call: async (side, action, params) => {
    calls.push(`${side}:${action.name}`);
    const answer = answers[action.name];
    if (!answer) throw new PgduplexError('UNKNOWN_ACTION', `no ${action.name}`);
    return answer(side, params as Record<string, unknown>) as never;
  },
});
const whoami: Answer = (side) => ({
  node: side === 'local' ? 'a' : 'b',
  version: '0.2.0',
  peerAddress: side === 'local' ? '10.0.0.2' : '10.0.0.1',
});
const unsupported = (num: number) => ({ supported: false, serverVersionNum: num, subscriptions: [] });

describe('checkConflicts', () => {
  it('says in one line that 16/17 count no conflicts and that the watch finds differing rows', async () => {
    const r = await checkConflicts(
      agentsOf({ whoami, 'conflicts.read': (s) => unsupported(s === 'local' ? 170006 : 160010) }),
      'fusionpbx',
    );
    expect(r).toEqual({
      diverging: [],
      equal: 0,
      notes: [
        'conflict counters: n/a (a runs PostgreSQL 17, b runs PostgreSQL 16, which counts no conflicts before 18); ' +
          'rows that differ are found by the divergence watch (pgduplex watch)',
      ],
    });
  });

  it('never throws: an agent that predates the check is a note', async () => {
    const r = await checkConflicts(agentsOf({ whoami }), 'fusionpbx');
    expect(r.notes).toEqual(['conflict counters: not checked (an agent of the pair predates the check; upgrade it)']);
  });

  it('a risen counter whose log lines are gone is a note, and the baseline advances (no compare, no wait)', async () => {
    const calls: string[] = [];
    const counters = { update_origin_differs: 2 };
    const sub = {
      subscription: 'pgduplex_from_b',
      counters,
      statsReset: null,
      baseline: { counters: { update_origin_differs: 1 }, statsReset: null, at: '2026-12-07T20:00:00.000Z' },
      risen: ['update_origin_differs'],
      lines: [],
    };
    const advanced: unknown[] = [];
    const r = await checkConflicts(
      agentsOf(
        {
          whoami,
          'conflicts.read': (s) =>
            s === 'local'
              ? { supported: true, serverVersionNum: 180001, subscriptions: [sub] }
              : { supported: true, serverVersionNum: 180001, subscriptions: [] },
          'conflicts.advance': (_s, p) => {
            advanced.push(p);
            return { baseline: { counters, statsReset: null, at: 'now' } };
          },
        },
        calls,
      ),
      'fusionpbx',
    );
    expect(r.diverging).toEqual([]);
    expect(r.notes[0]).toContain('pgduplex_from_b counted conflicts (update_origin_differs)');
    expect(advanced).toEqual([{ database: 'fusionpbx', subscription: 'pgduplex_from_b', counters, statsReset: null }]);
    expect(calls).not.toContain('local:replication.status');
  });
});
