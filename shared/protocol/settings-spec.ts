import { isIP } from 'node:net';

/** How a setting's value is written and compared. */
export type SettingKind = 'enum' | 'int' | 'size' | 'time' | 'bool' | 'addresses';

/** One allowlisted setting: its kind, accepted words (enums) and the first major version that has it. */
export interface SettingSpec {
  kind: SettingKind;
  values?: readonly string[];
  minusOne?: boolean;
  minVersion?: number;
  /** pg_settings shows the session's own socket's value (0 over the agent's unix socket): compare reset_val. */
  perConnection?: boolean;
}

/**
 * The settings pgduplex may write, in the order they are written. A Map, so `__proto__` or
 * `constructor` are unknown names rather than inherited entries.
 */
export const SETTING_SPECS: ReadonlyMap<string, SettingSpec> = new Map<string, SettingSpec>([
  ['listen_addresses', { kind: 'addresses' }],
  ['wal_level', { kind: 'enum', values: ['replica', 'logical'] }],
  ['max_wal_senders', { kind: 'int' }],
  ['max_replication_slots', { kind: 'int' }],
  ['max_worker_processes', { kind: 'int' }],
  ['max_logical_replication_workers', { kind: 'int' }],
  ['max_sync_workers_per_subscription', { kind: 'int' }],
  ['max_parallel_apply_workers_per_subscription', { kind: 'int', minVersion: 16 }],
  ['max_active_replication_origins', { kind: 'int', minVersion: 18 }],
  ['max_slot_wal_keep_size', { kind: 'size', minusOne: true }],
  ['idle_replication_slot_timeout', { kind: 'time', minVersion: 18 }],
  ['wal_sender_timeout', { kind: 'time' }],
  ['wal_receiver_timeout', { kind: 'time' }],
  ['tcp_user_timeout', { kind: 'time', perConnection: true }],
  ['track_commit_timestamp', { kind: 'bool' }],
]);

/** A validation outcome that zod refinements and the action can both use. */
export type Checked = { ok: true; value: string } | { ok: false; reason: string };

const MEMORY: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME: Record<string, number> = { us: 1, ms: 1000, s: 1e6, min: 60e6, h: 3600e6, d: 86400e6 };
const BOOL: Record<string, string> = {
  on: 'on',
  off: 'off',
  true: 'on',
  false: 'off',
  yes: 'on',
  no: 'off',
  '1': 'on',
  '0': 'off',
};
const own = (table: Record<string, number>, key: string): number | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Characters a rendered value may ever contain: no quote, backslash, space, '#' or line break. */
export const SAFE_VALUE = /^[A-Za-z0-9_.,:*-]{1,512}$/;

/**
 * Checks a value's form for its setting and returns the canonical spelling that is written to the
 * file; anything that is not plainly one of the accepted forms is refused, never escaped.
 */
export function validateSetting(name: string, raw: string): Checked {
  const spec = SETTING_SPECS.get(name);
  if (spec === undefined)
    return {
      ok: false,
      reason:
        `${JSON.stringify(name.slice(0, 64))} is not a setting pgduplex manages ` +
        `(allowed: ${[...SETTING_SPECS.keys()].join(', ')})`,
    };
  const bad = (want: string): Checked => ({
    ok: false,
    reason: `${name} must be ${want}, not ${JSON.stringify(raw.slice(0, 64))}`,
  });
  switch (spec.kind) {
    case 'enum': {
      const v = raw.toLowerCase();
      return /^[a-z]+$/.test(v) && spec.values?.includes(v)
        ? { ok: true, value: v }
        : bad(`one of ${spec.values?.join(', ')}`);
    }
    case 'int':
      return /^(0|[1-9][0-9]{0,8})$/.test(raw) ? { ok: true, value: raw } : bad('a whole number (0 or more, no unit)');
    case 'bool': {
      const v = Object.hasOwn(BOOL, raw.toLowerCase()) ? BOOL[raw.toLowerCase()] : undefined;
      return v !== undefined ? { ok: true, value: v } : bad('on or off');
    }
    case 'size':
      if (spec.minusOne && raw === '-1') return { ok: true, value: raw };
      return /^(0|[1-9][0-9]{0,12})(B|kB|MB|GB|TB)?$/.test(raw)
        ? { ok: true, value: raw }
        : bad(`a size such as 10GB or 512MB${spec.minusOne ? ', or -1 for no limit' : ''}`);
    case 'time':
      return /^(0|[1-9][0-9]{0,12})(us|ms|s|min|h|d)?$/.test(raw)
        ? { ok: true, value: raw }
        : bad('a duration such as 60s, 5min or 1d (0 disables it)');
    case 'addresses':
      return validateAddresses(name, raw);
  }
}

function validateAddresses(name: string, raw: string): Checked {
  const items = raw.split(',').map((s) => s.trim());
  if (raw.length > 512 || items.length > 16) return { ok: false, reason: `${name} lists too many addresses` };
  for (const item of items) {
    if (item.includes('%') || item.includes('/'))
      return {
        ok: false,
        reason:
          `${name}: ${JSON.stringify(item.slice(0, 64))} is not accepted ` +
          '(no zone ids or prefixes; give plain addresses)',
      };
    if (item === '*' || item === 'localhost' || isIP(item) !== 0 || HOSTNAME.test(item)) continue;
    return {
      ok: false,
      reason: `${name}: ${JSON.stringify(item.slice(0, 64))} is not '*', localhost, an IP address or a host name`,
    };
  }
  const value = items.join(',');
  return SAFE_VALUE.test(value)
    ? { ok: true, value }
    : { ok: false, reason: `${name} has characters PostgreSQL addresses do not use` };
}

/** What the server says about one setting (a row of pg_settings). */
export interface ServerSetting {
  name: string;
  setting: string;
  display: string;
  unit: string | null;
  vartype: string;
  context: string;
  minVal: string | null;
  maxVal: string | null;
  enumvals: string[] | null;
  bootVal: string | null;
  /** The value a session starts with, from the configuration files. */
  resetVal?: string | null;
  pendingRestart: boolean;
}

/** A setting that only takes effect when PostgreSQL restarts. */
export const needsRestart = (row: ServerSetting): boolean => row.context === 'postmaster';

/** Bytes or microseconds per pg_settings unit ("8kB", "MB", "s", ...), or undefined for a bare number. */
export function unitFactor(unit: string | null): number | undefined {
  if (unit === null || unit === '') return undefined;
  const m = /^([0-9]+)?\s*(B|kB|MB|GB|TB|us|ms|s|min|h|d)$/.exec(unit);
  if (!m) return undefined;
  const base = own(MEMORY, m[2] ?? '') ?? own(TIME, m[2] ?? '');
  return base === undefined ? undefined : base * Number(m[1] ?? '1');
}

/** A size or duration in the setting's own unit (as pg_settings.setting holds it), or undefined if not whole. */
export function inServerUnits(value: string, unit: string | null): number | undefined {
  if (value === '-1') return -1;
  const m = /^([0-9]+)([A-Za-z]*)$/.exec(value);
  const factor = unitFactor(unit);
  if (!m) return undefined;
  if (m[2] === '' || factor === undefined) return Number(m[1]);
  const per = own(MEMORY, m[2] ?? '') ?? own(TIME, m[2] ?? '');
  if (per === undefined) return undefined;
  const n = (Number(m[1]) * per) / factor;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Whether the running value (pg_settings) is the canonical value we want. */
export function sameAsRunning(name: string, value: string, row: ServerSetting): boolean {
  const spec = SETTING_SPECS.get(name);
  const running = spec?.perConnection ? (row.resetVal ?? row.setting) : row.setting;
  if (spec?.kind === 'size' || spec?.kind === 'time') return inServerUnits(value, row.unit) === Number(running);
  if (spec?.kind === 'addresses')
    return (
      value ===
      running
        .split(',')
        .map((s) => s.trim())
        .join(',')
    );
  return value === running;
}

/**
 * Checks a canonical value against what this server accepts: the version that introduced the
 * setting, its range, its enum words and its unit, so PostgreSQL is never handed a value it rejects.
 */
export function validateForServer(name: string, value: string, row: ServerSetting | undefined, major: number): Checked {
  const spec = SETTING_SPECS.get(name);
  if (spec?.minVersion !== undefined && major < spec.minVersion) {
    return {
      ok: false,
      reason:
        `${name} exists only in PostgreSQL ${spec.minVersion} and newer; ` + `this cluster runs ${major}: leave it out`,
    };
  }
  if (spec === undefined || row === undefined)
    return { ok: false, reason: `PostgreSQL ${major} has no setting ${name}: leave it out` };
  if (row.enumvals !== null && spec.kind === 'enum' && !row.enumvals.includes(value)) {
    return { ok: false, reason: `PostgreSQL ${major} accepts ${name} = ${row.enumvals.join(' | ')}, not ${value}` };
  }
  if (spec.kind === 'int' || spec.kind === 'size' || spec.kind === 'time') {
    const n = spec.kind === 'int' ? Number(value) : inServerUnits(value, row.unit);
    if (n === undefined)
      return { ok: false, reason: `${name} is kept in units of ${row.unit}; give a whole number of ${row.unit}` };
    const min = Number(row.minVal ?? '-Infinity');
    const max = Number(row.maxVal ?? 'Infinity');
    if (n < min || n > max)
      return {
        ok: false,
        reason:
          `${name} must be between ${row.minVal} and ${row.maxVal}${row.unit ? ` (${row.unit})` : ''} ` +
          `on PostgreSQL ${major}, not ${value}`,
      };
  }
  return { ok: true, value };
}
