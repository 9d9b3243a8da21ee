import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConflictBaselines, FIRST_SIGHT, measureBaseline } from '../../../agent/state/conflict-baseline.js';

const NOW = '2026-12-07T20:00:00.000Z';
const counters = (u: number, d = 0) => ({ update_origin_differs: u, delete_missing: d });
const base = (u: number, statsReset: string | null = null) => ({ counters: counters(u), statsReset, at: NOW });

describe('measureBaseline', () => {
  it('first sight: zeros from the same stats_reset, so conflicts counted before are still compared', () => {
    const s = measureBaseline(undefined, { counters: counters(1), statsReset: null }, NOW);
    expect(s).toEqual({
      baseline: { counters: counters(0), statsReset: null, at: FIRST_SIGHT },
      risen: ['update_origin_differs'],
      changed: true,
    });
  });

  it('a counter above its baseline has risen; equal ones have not, and the baseline stays', () => {
    const prev = base(2);
    expect(measureBaseline(prev, { counters: counters(3, 0), statsReset: null }, 'later')).toEqual({
      baseline: prev,
      risen: ['update_origin_differs'],
      changed: false,
    });
    expect(measureBaseline(prev, { counters: counters(2), statsReset: null }, 'later').risen).toEqual([]);
  });

  it('a decrease (reset, pg_upgrade) or a changed stats_reset re-baselines at now, with nothing risen', () => {
    for (const cur of [
      { counters: counters(1, 5), statsReset: null },
      { counters: counters(9), statsReset: '2026-12-07 19:00:00+00' },
    ]) {
      const s = measureBaseline(base(2), cur, 'later');
      expect(s).toEqual({
        baseline: { counters: cur.counters, statsReset: cur.statsReset, at: 'later' },
        risen: [],
        changed: true,
      });
    }
  });

  it('a counter the baseline lacks (a newer major adds one) counts from zero', () => {
    const s = measureBaseline(base(0), { counters: { ...counters(0), update_deleted: 1 }, statsReset: null }, 'x');
    expect(s.risen).toEqual(['update_deleted']);
  });
});

describe('ConflictBaselines', () => {
  it('keeps baselines per database and subscription in a private file; none when absent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgdx-conflicts-'));
    try {
      const store = new ConflictBaselines(() => dir);
      expect(await store.load()).toEqual({});
      await store.set('fusionpbx', 'pgduplex_from_b', base(1));
      await store.set('fusionpbx', 'pgduplex_from_c', base(2));
      expect(await new ConflictBaselines(() => dir).load()).toEqual({
        fusionpbx: { pgduplex_from_b: base(1), pgduplex_from_c: base(2) },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
