import { describe, expect, it } from 'vitest';
import { OWNED_HEADER } from '../../../agent/files/owned-file.js';
import { locateTarget, type FileRow } from '../../../agent/postgres/settings-file.js';
import { checkAgainstServer, planSettings, settled, waitingForRestart } from '../../../agent/postgres/settings-plan.js';
import type { ServerState } from '../../../agent/postgres/settings-server.js';
import type { ServerSetting } from '../../../shared/protocol/settings-spec.js';

const DIR = '/etc/postgresql/17/main';
const target = locateTarget(DIR, "include_dir = 'conf.d'\n");
const OURS = `${DIR}/conf.d/50-pgduplex.conf`;

function setting(name: string, setting: string, over: Partial<ServerSetting> = {}): ServerSetting {
  return {
    name,
    setting,
    display: setting,
    unit: null,
    vartype: 'integer',
    context: 'postmaster',
    minVal: '0',
    maxVal: '262143',
    enumvals: null,
    bootVal: setting,
    pendingRestart: false,
    ...over,
  };
}
function state(settings: ServerSetting[], files: Array<Partial<FileRow>> = []): ServerState {
  return {
    major: 17,
    settings: new Map(settings.map((s) => [s.name, s])),
    files: files.map((f, i) => ({
      sourcefile: OURS,
      sourceline: i + 2,
      seqno: i + 1,
      name: null,
      setting: null,
      applied: true,
      error: null,
      ...f,
    })),
  };
}
const walLevel = (over: Partial<ServerSetting> = {}) =>
  setting('wal_level', 'replica', {
    vartype: 'enum',
    enumvals: ['minimal', 'replica', 'logical'],
    minVal: null,
    maxVal: null,
    ...over,
  });
const keep = (over: Partial<ServerSetting> = {}) =>
  setting('max_slot_wal_keep_size', '-1', {
    unit: 'MB',
    context: 'sighup',
    minVal: '-1',
    maxVal: '2147483647',
    ...over,
  });
const desired = new Map([
  ['wal_level', 'logical'],
  ['max_slot_wal_keep_size', '10GB'],
]);

describe('planSettings', () => {
  it('reports each difference in words, with restart where PostgreSQL needs one', () => {
    const plan = planSettings(target, null, desired, state([walLevel(), keep()]));
    expect(plan.changes).toEqual([
      'wal_level: replica -> logical (restart needed)',
      'max_slot_wal_keep_size: -1 -> 10GB',
    ]);
    expect(plan.restartNeeded).toBe(true);
    expect(plan.touched).toEqual(['wal_level', 'max_slot_wal_keep_size']);
    expect(plan.newText).toBe(`${OWNED_HEADER}\nwal_level = 'logical'\nmax_slot_wal_keep_size = '10GB'\n`);
  });

  it('has nothing to do once the file is written, but still says a restart is pending', () => {
    const text = `${OWNED_HEADER}\nwal_level = 'logical'\nmax_slot_wal_keep_size = '10GB'\n`;
    const st = state(
      [walLevel({ pendingRestart: true }), keep({ setting: '10240', display: '10GB' })],
      [
        { name: 'wal_level', setting: 'logical', error: 'setting could not be applied' },
        { name: 'max_slot_wal_keep_size', setting: '10GB' },
      ],
    );
    const plan = planSettings(target, text, desired, st);
    expect(plan).toMatchObject({ changes: [], restartNeeded: true, touched: [], reloadOnly: false, newText: text });
    expect(settled('wal_level', st)).toBe(true);
    expect(waitingForRestart(['wal_level', 'max_slot_wal_keep_size'], st)).toEqual(['wal_level']);
  });

  it('says when a value is only pinned, and what a removed setting falls back to', () => {
    const text = `${OWNED_HEADER}\nmax_wal_senders = '20'\n`;
    const st = state(
      [walLevel({ setting: 'logical', display: 'logical' }), setting('max_wal_senders', '20', { bootVal: '10' })],
      [
        { sourcefile: `${DIR}/postgresql.conf`, name: 'max_wal_senders', setting: '16', seqno: 0 },
        { name: 'max_wal_senders', setting: '20' },
      ],
    );
    const plan = planSettings(target, text, new Map([['wal_level', 'logical']]), st);
    expect(plan.changes).toEqual([
      `wal_level: logical (unchanged; now set in ${OURS})`,
      'max_wal_senders: 20 -> 16 (no longer set by pgduplex; restart needed)',
    ]);
    expect(plan.restartNeeded).toBe(true);
  });

  it('reports a hand-edited drop-in and an ALTER SYSTEM override', () => {
    const text = `# my notes\nwal_level = 'logical'\n`;
    const st = state(
      [walLevel({ setting: 'logical', display: 'logical' })],
      [
        { name: 'wal_level', setting: 'logical', sourceline: 2, seqno: 1 },
        {
          sourcefile: '/var/lib/postgresql/17/main/postgresql.auto.conf',
          name: 'wal_level',
          setting: 'replica',
          seqno: 2,
        },
      ],
    );
    const plan = planSettings(target, text, new Map([['wal_level', 'logical']]), st);
    expect(plan.changes).toEqual([
      `${OURS}: rewritten (its text differs from what pgduplex writes)`,
      `wal_level: postgresql.auto.conf (ALTER SYSTEM) sets 'replica', which wins over ${OURS} (run ALTER SYSTEM RESET wal_level)`,
    ]);
    expect(plan.overrides).toHaveLength(1);
  });

  it('asks for a reload when the file is right but a reload-time value is not live', () => {
    const text = `${OWNED_HEADER}\nmax_slot_wal_keep_size = '10GB'\n`;
    const plan = planSettings(
      target,
      text,
      new Map([['max_slot_wal_keep_size', '10GB']]),
      state([keep()], [{ name: 'max_slot_wal_keep_size', setting: '10GB' }]),
    );
    expect(plan).toMatchObject({
      reloadOnly: true,
      touched: ['max_slot_wal_keep_size'],
      changes: [`max_slot_wal_keep_size: -1 -> 10GB (already in ${OURS}; a reload applies it)`],
    });
  });

  it('refuses values the server would not take, naming all of them', () => {
    expect(() =>
      checkAgainstServer(
        new Map([
          ['max_wal_senders', '300000'],
          ['idle_replication_slot_timeout', '1d'],
        ]),
        state([setting('max_wal_senders', '10')]),
      ),
    ).toThrow(
      /max_wal_senders must be between 0 and 262143.*idle_replication_slot_timeout exists only in PostgreSQL 18/,
    );
  });
});
