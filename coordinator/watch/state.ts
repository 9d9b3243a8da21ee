import type { WatchState, WatchTable } from '../../shared/protocol/watch.js';
import { keyText, type DifferingRow } from '../verify/slices.js';

/** Keys of differing rows the watch keeps per table for status and /metrics. */
export const SAMPLE = 5;

/** A watch that has never run: the first round starts a pass at the first table. */
export const freshState = (database: string): WatchState => ({
  version: 1,
  database,
  cursor: { table: null, after: null, found: [], foundCount: 0 },
  passStartedAt: null,
  lastPassAt: null,
  lastRoundAt: null,
  tablesDone: 0,
  tablesTotal: 0,
  tables: {},
});

/** Starts a new pass over `tables` (sorted) at its first table. */
export function startPass(s: WatchState, tables: readonly string[], now: string): WatchState {
  return {
    ...s,
    cursor: { table: tables[0] ?? null, after: null, found: [], foundCount: 0 },
    passStartedAt: now,
    tablesDone: 0,
    tablesTotal: tables.length,
  };
}

/** Adds the rows a round found differing in the table being walked (a sample of their keys is kept). */
export function addFound(s: WatchState, rows: readonly DifferingRow[], how: (r: DifferingRow) => string): WatchState {
  const found = [...s.cursor.found, ...rows.map((r) => ({ key: keyText(r.key).slice(0, 1000), how: how(r) }))];
  return {
    ...s,
    cursor: { ...s.cursor, found: found.slice(0, SAMPLE), foundCount: s.cursor.foundCount + rows.length },
  };
}

/**
 * Closes the walk of the cursor's table: its result (equal now, or the rows that differed), then the cursor moves
 * to the next table of `tables`, or past the last (the pass is done; the next round starts a new one).
 */
export function finishTable(s: WatchState, tables: readonly string[], now: string): WatchState {
  const table = s.cursor.table;
  if (table === null) return s;
  const before = s.tables[table];
  const result: WatchTable = {
    checkedAt: now,
    lastEqualAt: s.cursor.foundCount === 0 ? now : (before?.lastEqualAt ?? null),
    differing: s.cursor.foundCount,
    sample: s.cursor.found,
  };
  const next = tables.find((t) => t > table) ?? null;
  // Tables dropped since stay out: the results hold only tables the pair has now.
  const kept = Object.fromEntries(Object.entries(s.tables).filter(([t]) => tables.includes(t)));
  return {
    ...s,
    tables: { ...kept, [table]: result },
    cursor: { table: next, after: null, found: [], foundCount: 0 },
    tablesDone: s.tablesDone + 1,
    ...(next === null ? { lastPassAt: now } : {}),
  };
}

/** The tables the watch last found differing, with their samples, for status and the round's summary. */
export const divergent = (s: WatchState | null): Array<[string, WatchTable]> =>
  Object.entries(s?.tables ?? {}).filter(([, t]) => t.differing > 0);

/**
 * Stops the walk at a slice that differed while the lag could not drain: the cursor goes back to it (the next round
 * walks it again) and the state says why, since when, so status and /metrics show lag, not divergence.
 */
export function waitAt(
  s: WatchState,
  table: string,
  after: WatchState['cursor']['after'],
  reason: string,
  now: string,
) {
  const since = s.unsettled?.table === table ? s.unsettled.since : now;
  return { ...s, cursor: { ...s.cursor, after }, unsettled: { table, since, reason: reason.slice(0, 1000) } };
}

/** What an unsettled slice means, in words: not a verdict until the lag drained. */
export const unsettledText = (reason: string): string =>
  `rows differ while ${reason}; not counted as divergence: the watch compares them again once the lag drained`;
