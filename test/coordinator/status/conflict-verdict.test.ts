import { describe, expect, it } from 'vitest';
import { applyConflicts, conflictLines, findingText } from '../../../coordinator/status/conflict-verdict.js';
import type { ConflictFinding } from '../../../coordinator/status/conflicts.js';
import { STATUS_EXIT, type DirectionStatus, type StatusReport } from '../../../coordinator/status/verdict.js';
import { palette } from '../../../coordinator/render/format.js';
import { renderStatus } from '../../../coordinator/render/status.js';

const direction = (from: string, to: string, verdict: DirectionStatus['verdict'] = 'healthy'): DirectionStatus => ({
  from,
  to,
  subscription: `pgduplex_from_${from}`,
  verdict,
  subscriber: null,
  publisher: null,
  problems: verdict === 'healthy' ? [] : [{ verdict, text: 'something else' }],
  remedies: [],
});
const report = (ab: DirectionStatus['verdict'] = 'healthy'): StatusReport => ({
  verdict: ab,
  database: 'fusionpbx',
  node: 'a',
  peer: { node: 'b', reachable: true, problem: null },
  directions: [direction('a', 'b', ab), direction('b', 'a')],
  agents: [],
  versionNote: null,
});
const K = '(domain_uuid)=(6f1d2c1e-0000-4000-8000-000000000001)';
const finding: ConflictFinding = {
  from: 'b',
  to: 'a',
  table: 'public.v_domains',
  key: K,
  types: ['update_origin_differs'],
  rows: [
    { node: 'a', present: true, committedAt: '2026-12-07 20:05:01.2+00' },
    { node: 'b', present: true, committedAt: null },
  ],
};

describe('applyConflicts', () => {
  it('leaves a report alone when no row a conflict named differs (equal rows, or none named)', () => {
    const r = report();
    expect(applyConflicts(r, { diverging: [], equal: 3, notes: [] })).toBe(r);
  });

  it('makes the direction the conflict arrived by diverging: degraded (exit 3), table, key, times, repair', () => {
    const r = applyConflicts(report(), { diverging: [finding], equal: 0, notes: [] });
    expect(r.verdict).toBe('degraded');
    expect(STATUS_EXIT[r.verdict]).toBe(3);
    const [ab, ba] = r.directions;
    expect(ab?.diverging).toBeUndefined();
    expect(ba?.diverging).toBe(true);
    expect(ba?.problems.map((p) => p.text)).toEqual([findingText(finding)]);
    expect(findingText(finding)).toBe(
      `diverging: public.v_domains key ${K} differs between the nodes after a conflict (update_origin_differs) ` +
        `on a, with the lag drained; a's row committed at 2026-12-07 20:05:01.2+00, b's row committed at an ` +
        `unknown time (no commit timestamp)`,
    );
    expect(ba?.remedies.map((m) => m.command)).toEqual([
      'pgduplex verify --table v_domains --repair --keep b',
      'pgduplex verify --table v_domains --repair --keep a',
    ]);
    const text = renderStatus(r, palette({ isTTY: false } as NodeJS.WriteStream));
    expect(text).toMatch(/b → a {2}DEGRADED, DIVERGING/);
    expect(text).not.toContain('Both directions replicate.');
  });

  it('keeps a worse verdict (broken stays broken) and names a missing row', () => {
    const gone = { ...finding, rows: [finding.rows[0]!, { node: 'b', present: false, committedAt: null }] };
    const r = applyConflicts(report('broken'), { diverging: [{ ...gone, from: 'a', to: 'b' }], equal: 0, notes: [] });
    expect(r.verdict).toBe('broken');
    expect(r.directions[0]?.verdict).toBe('broken');
    expect(r.directions[0]?.problems.at(-1)?.text).toContain('b has no such row');
  });
});

describe('conflictLines', () => {
  it('prints the notes and how many named rows were equal', () => {
    expect(conflictLines({ diverging: [], equal: 0, notes: [] })).toEqual([]);
    expect(
      conflictLines({ diverging: [], equal: 2, notes: ['conflict counters: n/a (a runs PostgreSQL 17)'] }),
    ).toEqual([
      'conflict counters: n/a (a runs PostgreSQL 17)',
      'conflicts: 2 row(s) a conflict named are equal on both nodes (the baseline advanced)',
    ]);
  });
});
