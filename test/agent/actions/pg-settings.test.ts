import { describe, expect, it } from 'vitest';
import { pgServiceRestartAction } from '../../../shared/protocol/postgres.js';
import { pgSettingsChange } from '../../../shared/protocol/postgres.js';

const pgSettingsParams = pgSettingsChange.params;

describe('pg-settings params', () => {
  const parse = (settings: unknown) => pgSettingsParams.safeParse({ settings });

  it('turns valid settings into a map of canonical values', () => {
    const r = parse({ wal_level: 'Logical', track_commit_timestamp: 'yes', max_slot_wal_keep_size: '10GB' });
    expect(r.success && r.data.settings).toEqual(
      new Map([
        ['wal_level', 'logical'],
        ['track_commit_timestamp', 'on'],
        ['max_slot_wal_keep_size', '10GB'],
      ]),
    );
  });

  it('names the setting and the reason when a value is refused', () => {
    const r = parse({ wal_level: 'logical', max_wal_senders: "10'" });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['settings.max_wal_senders', `max_wal_senders must be a whole number (0 or more, no unit), not "10'"`],
    ]);
  });

  it('refuses nothing at all, unknown names and a __proto__ key (which a record would silently drop)', () => {
    expect(parse({}).success).toBe(false);
    expect(parse({ shared_preload_libraries: 'x' }).success).toBe(false);
    expect(parse(JSON.parse('{"__proto__": "x", "wal_level": "logical"}')).success).toBe(false);
    expect(pgSettingsParams.safeParse({ settings: { wal_level: 'logical' }, extra: 1 }).success).toBe(false);
  });
});

describe('pg-service.restart params', () => {
  it('takes nothing, or the journal id of the settings change to take back', () => {
    expect(pgServiceRestartAction.params.safeParse({}).success).toBe(true);
    expect(pgServiceRestartAction.params.safeParse({ restoreJournalId: 'f'.repeat(36) }).success).toBe(true);
    expect(pgServiceRestartAction.params.safeParse({ restoreJournalId: 'f'.repeat(65) }).success).toBe(false);
    expect(pgServiceRestartAction.params.safeParse({ cluster: '17/main' }).success).toBe(false);
  });
});
