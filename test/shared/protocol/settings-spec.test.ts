import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SAFE_VALUE,
  SETTING_SPECS,
  inServerUnits,
  sameAsRunning,
  validateForServer,
  validateSetting,
  type ServerSetting,
} from '../../../shared/protocol/settings-spec.js';

const row = (over: Partial<ServerSetting>): ServerSetting => ({
  name: 'x',
  setting: '0',
  display: '0',
  unit: null,
  vartype: 'integer',
  context: 'sighup',
  minVal: null,
  maxVal: null,
  enumvals: null,
  bootVal: null,
  pendingRestart: false,
  ...over,
});

describe('validateSetting', () => {
  const ok = (name: string, raw: string) => validateSetting(name, raw);

  it('accepts each kind in its plain form and returns the canonical spelling', () => {
    expect(ok('wal_level', 'LOGICAL')).toEqual({ ok: true, value: 'logical' });
    expect(ok('max_wal_senders', '10')).toEqual({ ok: true, value: '10' });
    expect(ok('track_commit_timestamp', 'true')).toEqual({ ok: true, value: 'on' });
    expect(ok('track_commit_timestamp', 'OFF')).toEqual({ ok: true, value: 'off' });
    expect(ok('max_slot_wal_keep_size', '10GB')).toEqual({ ok: true, value: '10GB' });
    expect(ok('max_slot_wal_keep_size', '-1')).toEqual({ ok: true, value: '-1' });
    expect(ok('idle_replication_slot_timeout', '5min')).toEqual({ ok: true, value: '5min' });
    expect(ok('listen_addresses', 'localhost, 10.0.0.1,fd00::1')).toEqual({
      ok: true,
      value: 'localhost,10.0.0.1,fd00::1',
    });
    expect(ok('listen_addresses', '*')).toEqual({ ok: true, value: '*' });
  });

  it('refuses unknown names, including inherited object keys', () => {
    for (const name of ['shared_preload_libraries', '__proto__', 'constructor', 'toString', 'WAL_LEVEL', ''])
      expect(ok(name, 'x').ok).toBe(false);
  });

  it('refuses quotes, line breaks, spaces, units on counts and words outside the enum', () => {
    const bad: Array<[string, string]> = [
      ['wal_level', 'minimal'],
      ['wal_level', "logical'"],
      ['wal_level', 'logical\n'],
      ['max_wal_senders', '10 '],
      ['max_wal_senders', '-1'],
      ['max_wal_senders', '1e3'],
      ['max_wal_senders', '010'],
      ['max_slot_wal_keep_size', '10 GB'],
      ['max_slot_wal_keep_size', '10gb'],
      ['wal_sender_timeout', '-1'],
      ['track_commit_timestamp', '__proto__'],
      ['track_commit_timestamp', 'constructor'],
      ['listen_addresses', ''],
      ['listen_addresses', "*'; shared_preload_libraries = 'x"],
      ['listen_addresses', '10.0.0.0/8'],
      ['listen_addresses', 'fe80::1%eth0'],
      ['listen_addresses', 'a\nb'],
    ];
    for (const [name, raw] of bad) expect(ok(name, raw), `${name}=${JSON.stringify(raw)}`).toMatchObject({ ok: false });
  });

  it('whatever it accepts is in the safe alphabet (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SETTING_SPECS.keys()),
        fc.string({ unit: 'binary', maxLength: 40 }),
        (name, raw) => {
          const c = validateSetting(name, raw);
          if (c.ok) expect(c.value).toMatch(SAFE_VALUE);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('server units and ranges', () => {
  it('converts sizes and durations to the unit pg_settings uses', () => {
    expect(inServerUnits('10GB', 'MB')).toBe(10240);
    expect(inServerUnits('1024kB', 'MB')).toBe(1);
    expect(inServerUnits('1000kB', 'MB')).toBeUndefined();
    expect(inServerUnits('64MB', '8kB')).toBe(8192);
    expect(inServerUnits('5min', 's')).toBe(300);
    expect(inServerUnits('60s', 'ms')).toBe(60000);
    expect(inServerUnits('100', 'MB')).toBe(100);
    expect(inServerUnits('-1', 'MB')).toBe(-1);
  });

  it('compares with the running value in its own unit', () => {
    expect(sameAsRunning('max_slot_wal_keep_size', '10GB', row({ setting: '10240', unit: 'MB' }))).toBe(true);
    expect(sameAsRunning('max_slot_wal_keep_size', '-1', row({ setting: '-1', unit: 'MB' }))).toBe(true);
    expect(sameAsRunning('wal_level', 'logical', row({ setting: 'replica' }))).toBe(false);
    expect(sameAsRunning('listen_addresses', 'localhost,10.0.0.1', row({ setting: 'localhost, 10.0.0.1' }))).toBe(true);
    // Over the agent's unix socket tcp_user_timeout always reads 0; what new TCP sessions get is reset_val.
    expect(sameAsRunning('tcp_user_timeout', '60s', row({ setting: '0', resetVal: '60000', unit: 'ms' }))).toBe(true);
    expect(sameAsRunning('tcp_user_timeout', '60s', row({ setting: '0', resetVal: '0', unit: 'ms' }))).toBe(false);
  });

  it('refuses a PostgreSQL 18 setting on 17, out-of-range numbers and sizes that are not whole units', () => {
    expect(validateForServer('idle_replication_slot_timeout', '5min', undefined, 17)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('PostgreSQL 18 and newer'),
    });
    expect(
      validateForServer(
        'idle_replication_slot_timeout',
        '5min',
        row({ unit: 's', minVal: '0', maxVal: '2147483647' }),
        18,
      ),
    ).toEqual({ ok: true, value: '5min' });
    expect(validateForServer('max_wal_senders', '300000', row({ minVal: '0', maxVal: '262143' }), 17)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('between 0 and 262143'),
    });
    expect(
      validateForServer(
        'max_slot_wal_keep_size',
        '1000kB',
        row({ unit: 'MB', minVal: '-1', maxVal: '2147483647' }),
        17,
      ),
    ).toMatchObject({ ok: false, reason: expect.stringContaining('units of MB') });
    expect(
      validateForServer(
        'wal_level',
        'logical',
        row({ vartype: 'enum', enumvals: ['minimal', 'replica', 'logical'] }),
        17,
      ),
    ).toEqual({ ok: true, value: 'logical' });
    expect(validateForServer('max_wal_senders', '10', undefined, 17)).toMatchObject({ ok: false });
  });
});
