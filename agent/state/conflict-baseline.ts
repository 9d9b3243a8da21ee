import { join } from 'node:path';
import { z } from 'zod';
import { conflictBaseline, type ConflictBaseline, type ConflictCounts } from '../../shared/protocol/conflicts.js';
import { readPrivateJson, writePrivateJson } from './private-files.js';

/** The first baseline of a subscription: nothing counted yet, so every conflict the log still holds is read. */
export const FIRST_SIGHT = '1970-01-01T00:00:00.000Z';

/** What a subscription's counters say against its baseline: which rose, and the baseline to keep. */
export interface BaselineStep {
  baseline: ConflictBaseline;
  risen: string[];
  /** True when the baseline was (re)taken: first sight, a reset, a decrease or a changed stats_reset. */
  changed: boolean;
}

/**
 * Measures counters against a baseline. No baseline yet: zeros (from the same stats_reset), so conflicts counted
 * before pgduplex first looked are still compared. A changed `stats_reset`, or any counter below its baseline
 * (a reset, a pg_upgrade), re-baselines at `now`: the old numbers say nothing about the new ones.
 */
export function measureBaseline(
  prev: ConflictBaseline | undefined,
  cur: { counters: ConflictCounts; statsReset: string | null },
  now: string,
): BaselineStep {
  if (!prev) {
    const zeros = Object.fromEntries(Object.keys(cur.counters).map((k) => [k, 0]));
    const baseline = { counters: zeros, statsReset: cur.statsReset, at: FIRST_SIGHT };
    return { baseline, risen: risenOver(baseline.counters, cur.counters), changed: true };
  }
  const decreased = Object.entries(prev.counters).some(([k, v]) => (cur.counters[k] ?? 0) < v);
  if (decreased || prev.statsReset !== cur.statsReset)
    return {
      baseline: { counters: { ...cur.counters }, statsReset: cur.statsReset, at: now },
      risen: [],
      changed: true,
    };
  return { baseline: prev, risen: risenOver(prev.counters, cur.counters), changed: false };
}

/** The counters above their baseline value (a counter the baseline lacks counts from zero). */
export const risenOver = (base: ConflictCounts, cur: ConflictCounts): string[] =>
  Object.entries(cur)
    .filter(([k, v]) => v > (base[k] ?? 0))
    .map(([k]) => k);

const stored = z.record(z.string(), z.record(z.string(), conflictBaseline));
type Stored = z.infer<typeof stored>;

/** The baselines this node keeps per database and subscription (`conflicts.json`, root 0600, beside verified.json). */
export class ConflictBaselines {
  /** `dir` is asked for on each use: the agent's services are bound before they are all there. */
  constructor(private readonly dir: () => string) {}

  private get path(): string {
    return join(this.dir(), 'conflicts.json');
  }

  /** All baselines; an absent or unreadable file is none yet. */
  async load(): Promise<Stored> {
    const parsed = stored.safeParse((await readPrivateJson(this.path).catch(() => undefined)) ?? {});
    return parsed.success ? parsed.data : {};
  }

  /** Stores one subscription's baseline. */
  async set(database: string, subscription: string, b: ConflictBaseline): Promise<void> {
    const all = await this.load();
    all[database] = { ...(all[database] ?? {}), [subscription]: b };
    await writePrivateJson(this.path, all);
  }
}
