import { basename, dirname, join, resolve } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { OWNED_HEADER } from '../files/owned-file.js';
import { confValue, parseConf } from './conf-parse.js';
import { SAFE_VALUE, SETTING_SPECS, needsRestart, type ServerSetting } from '../../shared/protocol/settings-spec.js';

/** The drop-in's name: after Debian's own files, before an admin's 99-local overrides. */
export const DROPIN_NAME = '50-pgduplex.conf';
/** Markers of the block used when postgresql.conf has no include_dir. */
export const BLOCK_BEGIN = '# BEGIN pgduplex';
export const BLOCK_END = '# END pgduplex';

/** Where pgduplex's settings live for one cluster, and where that place sits in the server's read order. */
export interface SettingsTarget {
  mode: 'dropin' | 'block';
  /** The file pgduplex writes (the drop-in, or postgresql.conf itself for a block). */
  path: string;
  confPath: string;
  /** The included directory (drop-in mode). */
  dir?: string;
  /** The include_dir line of postgresql.conf (drop-in mode). */
  includeLine: number;
}

/** 1-based first and last line of our part of `target.path`. */
export interface LineRange {
  start: number;
  end: number;
}

/** Ordered `[name, value]` pairs of already validated, canonical settings. */
export type SettingList = ReadonlyArray<readonly [string, string]>;

/** Chooses the drop-in in the directory postgresql.conf includes (the last include_dir), else a block in it. */
export function locateTarget(configDir: string, confText: string): SettingsTarget {
  const confPath = join(configDir, 'postgresql.conf');
  const inc = parseConf(confText)
    .filter((e) => e.name === 'include_dir')
    .at(-1);
  if (inc === undefined) return { mode: 'block', path: confPath, confPath, includeLine: 0 };
  const dir = resolve(configDir, inc.value);
  return { mode: 'dropin', path: join(dir, DROPIN_NAME), confPath, dir, includeLine: inc.line };
}

/** Puts settings in allowlist order, so the same request always renders the same bytes. */
export function orderSettings(settings: ReadonlyMap<string, string>): Array<[string, string]> {
  return [...SETTING_SPECS.keys()].filter((n) => settings.has(n)).map((n) => [n, settings.get(n) ?? '']);
}

/** `name = 'value'` lines; a value outside the safe alphabet is a bug upstream and is refused here too. */
export function renderSettingLines(settings: SettingList): string[] {
  return settings.map(([name, value]) => {
    if (!SETTING_SPECS.has(name) || !SAFE_VALUE.test(value))
      throw new PgduplexError('INTERNAL', `refusing to write unvalidated setting ${JSON.stringify(name.slice(0, 64))}`);
    return `${name} = '${value}'`;
  });
}

/** The whole drop-in, header first; null when nothing is left to set (the file is then removed). */
export function renderDropin(settings: SettingList): string | null {
  return settings.length === 0 ? null : [OWNED_HEADER, ...renderSettingLines(settings), ''].join('\n');
}

/** Finds our marked block in postgresql.conf; a lone or repeated marker is refused rather than guessed at. */
export function blockRange(text: string): LineRange | undefined {
  const lines = text.split('\n');
  const begins = lines.flatMap((l, i) => (l.trim() === BLOCK_BEGIN ? [i + 1] : []));
  const ends = lines.flatMap((l, i) => (l.trim() === BLOCK_END ? [i + 1] : []));
  if (begins.length === 0 && ends.length === 0) return undefined;
  const [start] = begins;
  const [end] = ends;
  if (begins.length !== 1 || ends.length !== 1 || start === undefined || end === undefined || end < start) {
    throw new PgduplexError(
      'CONFIG_INVALID',
      `postgresql.conf has a damaged pgduplex block (${begins.length} "${BLOCK_BEGIN}", ${ends.length} "${BLOCK_END}")`,
      {
        hint:
          `leave exactly one "${BLOCK_BEGIN}" ... "${BLOCK_END}" pair in postgresql.conf ` +
          '(or remove both), then retry',
      },
    );
  }
  return { start, end };
}

/** postgresql.conf with our block replaced, appended, or (no settings) removed. */
export function withBlock(confText: string, settings: SettingList): string {
  const range = blockRange(confText);
  const block = settings.length === 0 ? [] : [BLOCK_BEGIN, OWNED_HEADER, ...renderSettingLines(settings), BLOCK_END];
  const lines = confText.split('\n');
  if (range !== undefined) {
    lines.splice(range.start - 1, range.end - range.start + 1, ...block);
    return lines.join('\n');
  }
  if (block.length === 0) return confText;
  const base = confText === '' || confText.endsWith('\n') ? confText : `${confText}\n`;
  return `${base}${block.join('\n')}\n`;
}

/** The new text of `target.path` for these settings (null: remove the drop-in). */
export function renderTarget(target: SettingsTarget, current: string | null, settings: SettingList): string | null {
  return target.mode === 'dropin' ? renderDropin(settings) : withBlock(current ?? '', settings);
}

/** What our file or block says now, and where our part is. */
export function readOwned(
  target: SettingsTarget,
  text: string | null,
): { settings: Map<string, string>; range: LineRange | undefined } {
  if (text === null) return { settings: new Map(), range: undefined };
  const range = target.mode === 'block' ? blockRange(text) : { start: 1, end: text.split('\n').length };
  if (range === undefined) return { settings: new Map(), range };
  const part = text
    .split('\n')
    .slice(range.start - 1, range.end)
    .join('\n');
  return { settings: new Map(parseConf(part).map((e) => [e.name, e.value])), range };
}

/** Allowlisted names whose value differs between two versions of a file (either may be missing). */
export function changedNames(before: string | null, after: string | null): string[] {
  const a = parseConf(before ?? '');
  const b = parseConf(after ?? '');
  return [...SETTING_SPECS.keys()].filter((n) => confValue(a, n) !== confValue(b, n));
}

/** One row of pg_file_settings. */
export interface FileRow {
  sourcefile: string | null;
  sourceline: number | null;
  seqno: number | null;
  name: string | null;
  setting: string | null;
  applied: boolean | null;
  error: string | null;
}

/** A later assignment that wins over ours. */
export interface Override {
  name: string;
  value: string;
  where: string;
  alterSystem: boolean;
}

/** "setting could not be applied" on a restart-only setting is PostgreSQL saying "pending restart". */
export const PENDING_RESTART_TEXT = 'setting could not be applied';

/** A row that assigns a value the server takes (now, or at the next restart). */
export const assigns = (r: FileRow): boolean =>
  r.name !== null && (r.error === null || r.error === PENDING_RESTART_TEXT);

const isOurs = (row: FileRow, target: SettingsTarget, range: LineRange | undefined): boolean =>
  row.sourcefile === target.path &&
  (target.mode === 'dropin' ||
    (range !== undefined && (row.sourceline ?? 0) >= range.start && (row.sourceline ?? 0) <= range.end));

/** Whether a row is read after the place our settings are (or would be) written. */
function readAfterUs(row: FileRow, target: SettingsTarget, range: LineRange | undefined, confLines: number): boolean {
  const file = row.sourcefile ?? '';
  if (basename(file) === 'postgresql.auto.conf') return true;
  if (target.mode === 'dropin') {
    if (file === target.confPath) return (row.sourceline ?? 0) > target.includeLine;
    return dirname(file) === target.dir && basename(file) > DROPIN_NAME;
  }
  return file === target.confPath && (row.sourceline ?? 0) > (range?.end ?? confLines);
}

/**
 * Assignments that would win over ours: ALTER SYSTEM's postgresql.auto.conf, later files in the
 * directory, lines after the include. When our own line is already read, the server's order decides.
 */
export function findOverrides(
  rows: readonly FileRow[],
  target: SettingsTarget,
  range: LineRange | undefined,
  names: readonly string[],
  confLines: number,
): Override[] {
  const out: Override[] = [];
  for (const name of names) {
    const same = rows.filter((r) => r.name === name && assigns(r));
    const ours = same.find((r) => isOurs(r, target, range));
    const later = same.filter(
      (r) =>
        !isOurs(r, target, range) &&
        (ours ? (r.seqno ?? 0) > (ours.seqno ?? 0) : readAfterUs(r, target, range, confLines)),
    );
    const last = later.at(-1);
    if (last === undefined) continue;
    const alterSystem = basename(last.sourcefile ?? '') === 'postgresql.auto.conf';
    out.push({
      name,
      value: last.setting ?? '',
      where: alterSystem ? 'postgresql.auto.conf (ALTER SYSTEM)' : `${last.sourcefile} line ${last.sourceline}`,
      alterSystem,
    });
  }
  return out;
}

/** What the configuration files on disk now make of `name`: the last assignment, else the built-in default. */
export function filesValue(rows: readonly FileRow[], name: string, row: ServerSetting | undefined): string | undefined {
  return rows.filter((r) => r.name === name && assigns(r)).at(-1)?.setting ?? row?.bootVal ?? undefined;
}

/**
 * What the configuration gives `name` without pgduplex's part: the last other assignment, else the built-in
 * default.
 */
export function baseValue(
  rows: readonly FileRow[],
  target: SettingsTarget,
  range: LineRange | undefined,
  name: string,
  row: ServerSetting | undefined,
): string | undefined {
  const other = rows.filter((r) => r.name === name && assigns(r) && !isOurs(r, target, range)).at(-1);
  return other?.setting ?? row?.bootVal ?? undefined;
}

/** The value the server falls back to once our line for `name` is gone. */
export function fallbackValue(
  rows: readonly FileRow[],
  target: SettingsTarget,
  range: LineRange | undefined,
  name: string,
  row: ServerSetting | undefined,
): string {
  return baseValue(rows, target, range, name, row) ?? 'its default';
}

/** Errors pg_file_settings reports for our part of the configuration (a pending restart is none). */
export function ourFileErrors(
  rows: readonly FileRow[],
  target: SettingsTarget,
  range: LineRange | undefined,
  server: ReadonlyMap<string, ServerSetting>,
): string[] {
  return rows
    .filter((r) => r.error !== null && isOurs(r, target, range))
    .filter((r) => {
      const row = r.name === null ? undefined : server.get(r.name);
      return !(r.error === PENDING_RESTART_TEXT && row !== undefined && needsRestart(row));
    })
    .map(
      (r) => `${r.sourcefile} line ${r.sourceline}: ${r.error}${r.name ? ` (${r.name} = '${r.setting ?? ''}')` : ''}`,
    );
}
