import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../../agent/health/metrics.js';
import { renderWatch } from '../../../coordinator/render/watch.js';
import { walkSlices, type KeyRange } from '../../../coordinator/verify/slices.js';
import { addFound, divergent, finishTable, freshState, startPass, waitAt } from '../../../coordinator/watch/state.js';
import { watchStateSchema } from '../../../shared/protocol/watch.js';

const TABLES = ['public.a', 'public.b'];
const how = () => 'content differs';
// What renderMetrics needs beside the watch: a node whose replication says nothing.
const base = {
  version: '0',
  node: 'a',
  postgresUp: true,
  probeAgeSeconds: 0,
  replication: { ok: true, subscriptions: [], slots: [] },
  outcomes: [],
};

describe('the watch state across rounds', () => {
  it('a pass walks the tables in order, records equal tables and differing ones with a sample, then starts again', () => {
    let s = startPass(freshState('fusionpbx'), TABLES, 't0');
    expect(s.cursor).toEqual({ table: 'public.a', after: null, found: [], foundCount: 0 });
    s = { ...s, cursor: { ...s.cursor, after: ['500'] } };
    s = addFound(s, [{ key: ['7'], source: 'x', target: 'y' }], how);
    s = finishTable(s, TABLES, 't1');
    expect(s.tables['public.a']).toEqual({
      checkedAt: 't1',
      lastEqualAt: null,
      differing: 1,
      sample: [{ key: '7', how: 'content differs' }],
    });
    expect(s.cursor).toEqual({ table: 'public.b', after: null, found: [], foundCount: 0 });
    s = finishTable(s, TABLES, 't2');
    expect(s.tables['public.b']?.lastEqualAt).toBe('t2');
    expect(s.cursor.table).toBeNull();
    expect(s.lastPassAt).toBe('t2');
    expect(s.tablesDone).toBe(2);
    expect(divergent(s).map(([t]) => t)).toEqual(['public.a']);
    // The next pass finds a equal again: it is no longer divergent, and keeps when it was last equal.
    s = finishTable(startPass(s, TABLES, 't3'), TABLES, 't4');
    expect(s.tables['public.a']).toMatchObject({ differing: 0, lastEqualAt: 't4' });
    expect(divergent(s)).toEqual([]);
    expect(watchStateSchema.safeParse(s).success).toBe(true);
  });

  it('keeps at most 5 sample keys but counts every differing row', () => {
    const rows = Array.from({ length: 8 }, (_, i) => ({ key: [String(i)], source: 'x' }));
    const s = addFound(startPass(freshState('d'), TABLES, 't0'), rows, how);
    expect(s.cursor.found).toHaveLength(5);
    expect(s.cursor.foundCount).toBe(8);
  });

  it('drops results of tables the pair no longer has', () => {
    let s = finishTable(
      startPass(freshState('d'), ['public.gone', 'public.x'], 't0'),
      ['public.gone', 'public.x'],
      't1',
    );
    s = finishTable(startPass(s, ['public.x'], 't2'), ['public.x'], 't3');
    expect(Object.keys(s.tables)).toEqual(['public.x']);
  });

  it('a walk stopped by its time limit says where to resume, and resumes there', async () => {
    const reads: string[] = [];
    const read = async (side: 'source' | 'target', r: KeyRange, limit: number) => {
      reads.push(`${side}:${r.after?.[0] ?? '-'}`);
      const from = r.after ? Number(r.after[0]) : 0;
      const n = Math.max(0, Math.min(limit, 10 - from));
      return { rows: n, sum: String(n), last: n > 0 ? [String(from + n)] : null };
    };
    let calls = 0;
    const first = await walkSlices(read, 3, { stop: () => ++calls >= 2 });
    expect(first).toEqual({ differing: [], slices: 2, next: ['6'] });
    const rest = await walkSlices(read, 3, { from: first.next });
    expect(rest.next).toBeNull();
    expect(reads.slice(4)).toEqual(['source:6', 'target:6', 'source:9', 'target:9']);
  });
});

describe('what status and /metrics show of the watch', () => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  let s = startPass(freshState('fusionpbx'), TABLES, '2026-01-01T00:00:00Z');
  s = addFound(s, [{ key: ['k1'], source: 'x', target: 'y' }], how);
  s = finishTable(s, TABLES, '2026-01-01T00:50:00Z');
  s = { ...s, lastRoundAt: '2026-01-01T00:59:00Z' };

  it('status names the diverging table, its sample keys and the command to look with', () => {
    expect(renderWatch(null)).toEqual([
      'watch: no round yet (pgduplex-watch.timer runs one every 15 minutes; pgduplex watch runs one now)',
    ]);
    expect(renderWatch(s, now)).toEqual([
      'watch: last round 60 s ago; 1/2 tables this pass, no full pass yet',
      '  DIVERGING public.a: 1 rows differ (found 10 min ago, never seen equal); e.g. k1 (content differs); ' +
        'look: pgduplex verify --table public.a',
    ]);
  });

  it('/metrics serves the divergent tables, sampled rows, last-equal times and progress', () => {
    const equal = finishTable(s, TABLES, '2026-01-01T00:55:00Z');
    const text = renderMetrics({ ...base, watch: equal });
    expect(text).toContain('\npgduplex_divergent_tables 1\n');
    expect(text).toContain('\npgduplex_divergent_rows_sampled 1\n');
    expect(text).toContain('\npgduplex_last_equal_timestamp_seconds{table="public.b"} 1767228900\n');
    expect(text).not.toContain('pgduplex_last_equal_timestamp_seconds{table="public.a"}');
    expect(text).toContain('\npgduplex_watch_last_round_timestamp_seconds 1767229140\n');
    expect(text).toContain('\npgduplex_watch_pass_progress_ratio 1\n');
    const none = renderMetrics({ ...base, watch: null });
    expect(none).toContain('# TYPE pgduplex_divergent_tables gauge');
    expect(none).not.toMatch(/^pgduplex_divergent_tables /m);
  });
});

describe('a differing slice while the lag cannot drain', () => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  let s = startPass(freshState('fusionpbx'), TABLES, '2026-01-01T00:00:00Z');
  s = { ...s, cursor: { ...s.cursor, after: ['9'] }, lastRoundAt: '2026-01-01T00:59:00Z' };

  it('puts the cursor back at the slice, keeps since when, and is neither equal nor diverging', () => {
    const w = waitAt(
      s,
      'public.a',
      ['3'],
      'replication is stopped: b is not applying a’s changes',
      '2026-01-01T00:30:00Z',
    );
    expect(w.cursor).toMatchObject({ table: 'public.a', after: ['3'] });
    expect(w.unsettled).toEqual({
      table: 'public.a',
      since: '2026-01-01T00:30:00Z',
      reason: 'replication is stopped: b is not applying a’s changes',
    });
    expect(waitAt(w, 'public.a', ['3'], 'again', '2026-01-01T00:45:00Z').unsettled?.since).toBe('2026-01-01T00:30:00Z');
    expect(watchStateSchema.safeParse(w).success).toBe(true);
    expect(divergent(w)).toEqual([]);
    expect(renderWatch(w, now)).toEqual([
      'watch: last round 60 s ago; 0/2 tables this pass, no full pass yet',
      '  LAGGING public.a (since 30 min ago): rows differ while replication is stopped: b is not applying a’s ' +
        'changes; not counted as divergence: the watch compares them again once the lag drained',
    ]);
    const text = renderMetrics({ ...base, watch: w });
    expect(text).toContain('\npgduplex_watch_unsettled_tables 1\n');
    expect(text).toContain('\npgduplex_divergent_tables 0\n');
    expect(renderMetrics({ ...base, watch: { ...w, unsettled: null } })).toContain(
      '\npgduplex_watch_unsettled_tables 0\n',
    );
  });

  it('a state an older agent wrote (no unsettled field) still parses', () => {
    const { unsettled: _, ...old } = waitAt(s, 'public.a', null, 'x', 't');
    expect(watchStateSchema.safeParse(old).success).toBe(true);
  });
});
