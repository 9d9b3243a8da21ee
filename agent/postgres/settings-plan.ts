import { PgduplexError } from '../../shared/errors.js';
import {
  fallbackValue,
  filesValue,
  findOverrides,
  orderSettings,
  readOwned,
  renderTarget,
  type Override,
  type SettingsTarget,
} from './settings-file.js';
import type { ServerState } from './settings-server.js';
import {
  needsRestart,
  sameAsRunning,
  validateForServer,
  validateSetting,
  type ServerSetting,
} from '../../shared/protocol/settings-spec.js';

/** What applying a set of settings would do, worked out without touching anything. */
export interface SettingsPlan {
  /** The new text of the target file (null: remove the drop-in). */
  newText: string | null;
  /** One human-readable line per difference, override lines included. */
  changes: string[];
  overrides: Override[];
  /** Some change, or a change already written, only takes effect after a restart. */
  restartNeeded: boolean;
  /** Names whose running value must be checked after the reload. */
  touched: string[];
  /** The file is already right, but a reload is still needed for a value to go live. */
  reloadOnly: boolean;
}

/** How a target is named in change lines. */
export const describeTarget = (t: SettingsTarget): string =>
  t.mode === 'dropin' ? t.path : `the pgduplex block in ${t.path}`;

/** Refuses values this server would reject (version, range, enum words, unit) before anything is written. */
export function checkAgainstServer(desired: ReadonlyMap<string, string>, state: ServerState): void {
  const problems: string[] = [];
  for (const [name, value] of desired) {
    const c = validateForServer(name, value, state.settings.get(name), state.major);
    if (!c.ok) problems.push(c.reason);
  }
  if (problems.length > 0)
    throw new PgduplexError('BAD_PARAMS', problems.join('; '), {
      hint: 'fix or leave out these settings; nothing was changed',
    });
}

const canonical = (name: string, value: string): string => {
  const c = validateSetting(name, value);
  return c.ok ? c.value : value;
};

/** Whether the server runs the value the files now give, or at least knows it waits for a restart. */
export function settled(name: string, state: ServerState): boolean {
  const row = state.settings.get(name);
  if (row === undefined) return true;
  const want = filesValue(state.files, name, row);
  return (
    want === undefined || sameAsRunning(name, canonical(name, want), row) || (needsRestart(row) && row.pendingRestart)
  );
}

/** Names among `names` whose file value differs from the running one until PostgreSQL restarts. */
export function waitingForRestart(names: readonly string[], state: ServerState): string[] {
  return names.filter((name) => {
    const row = state.settings.get(name);
    const want = row && filesValue(state.files, name, row);
    return (
      row !== undefined && want !== undefined && needsRestart(row) && !sameAsRunning(name, canonical(name, want), row)
    );
  });
}

function changeLine(name: string, from: string, to: string, row: ServerSetting, note?: string): string {
  const notes = [note, needsRestart(row) ? 'restart needed' : undefined].filter((n) => n !== undefined);
  return `${name}: ${from} -> ${to}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

/**
 * Compares what we want with what our file says and what the server runs; every line is one
 * difference a person can read, e.g. `wal_level: replica -> logical (restart needed)`.
 */
export function planSettings(
  target: SettingsTarget,
  current: string | null,
  desired: ReadonlyMap<string, string>,
  state: ServerState,
): SettingsPlan {
  const { settings: inFile, range } = readOwned(target, current);
  const newText = renderTarget(target, current, orderSettings(desired));
  const where = describeTarget(target);
  const changes: string[] = [];
  const touched: string[] = [];
  let restartNeeded = false;
  let reloadOnly = false;
  for (const [name, value] of orderSettings(desired)) {
    const row = state.settings.get(name);
    if (row === undefined) continue;
    const live = sameAsRunning(name, value, row);
    if (inFile.get(name) !== value) {
      touched.push(name);
      if (live) changes.push(`${name}: ${row.display} (unchanged; now set in ${where})`);
      else {
        changes.push(changeLine(name, row.display, value, row));
        restartNeeded ||= needsRestart(row);
      }
    } else if (!live && needsRestart(row)) {
      restartNeeded = true;
    } else if (!live) {
      touched.push(name);
      reloadOnly = true;
      changes.push(`${name}: ${row.display} -> ${value} (already in ${where}; a reload applies it)`);
    }
  }
  for (const name of inFile.keys()) {
    const row = state.settings.get(name);
    if (desired.has(name) || row === undefined) continue;
    touched.push(name);
    const next = canonical(name, fallbackValue(state.files, target, range, name, row));
    if (sameAsRunning(name, next, row)) changes.push(`${name}: no longer set by pgduplex (stays ${row.display})`);
    else {
      changes.push(changeLine(name, row.display, next, row, 'no longer set by pgduplex'));
      restartNeeded ||= needsRestart(row);
    }
  }
  if (newText !== current && changes.length === 0)
    changes.push(`${where}: rewritten (its text differs from what pgduplex writes)`);
  const confLines = target.mode === 'block' ? (current ?? '').split('\n').length : 0;
  const overrides = findOverrides(state.files, target, range, [...desired.keys()], confLines);
  for (const o of overrides) {
    changes.push(
      `${o.name}: ${o.where} sets '${o.value}', which wins over ${where}` +
        `${o.alterSystem ? ` (run ALTER SYSTEM RESET ${o.name})` : ' (remove it there)'}`,
    );
  }
  return { newText, changes, overrides, restartNeeded, touched, reloadOnly: reloadOnly && newText === current };
}
