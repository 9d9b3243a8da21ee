import { describe, expect, it } from 'vitest';
import { failedHint, refusal } from '../../../agent/actions/pg-upgrade.js';
import { rebuilds, type UpgradeFacts } from '../../../shared/protocol/upgrade.js';

const view = { version: '17', name: 'main', port: 5432, dataDir: '/var/lib/postgresql/17/main', running: true };
const ok: UpgradeFacts = {
  current: { ...view, start: 'auto' },
  clusters: [{ ...view, start: 'auto' }],
  target: { major: 18, installed: true, packages: ['postgresql-18', 'postgresql-client-18'], existing: null },
  disk: { clusterBytes: 1024 ** 3, freeBytes: 10 * 1024 ** 3 },
  unknownColumnOptions: [],
  sessions: [],
  services: [],
  slots: [{ name: 'pgduplex_from_b', walStatus: 'reserved', active: true }],
  subscriptions: [{ name: 'pgduplex_from_a', enabled: true, notReady: 0 }],
  running: false,
  parked: false,
  replaced: [],
};
const session = { database: 'fusionpbx', user: 'fusionpbx', application: 'php-fpm', client: 'local' };
const why = (f: Partial<UpgradeFacts>, o: { link?: boolean; replaceEmpty?: boolean } = {}) =>
  refusal({ ...ok, ...f }, 18, o.link ?? false, o.replaceEmpty ?? false);

// What the agent refuses before it stops anything, whoever asks: each names the fault and what to do.
describe('pg-upgrade refusals', () => {
  it('lets a healthy 17 node with 18 installed and room for a copy go ahead', () => {
    expect(why({})).toBeUndefined();
  });

  it('names the packages to install, and refuses a downgrade', () => {
    const e = why({ target: { ...ok.target, installed: false } });
    expect([e?.code, e?.hint]).toEqual([
      'TOOL_MISSING',
      'install it first: apt-get install postgresql-18 postgresql-client-18 (then re-run)',
    ]);
    expect(refusal({ ...ok, current: { ...ok.current, version: '19' } }, 18, false, false)?.message).toContain(
      'newer than 18',
    );
  });

  it('re-creates the pair from 16, or when told, and then refuses while anything here can write', () => {
    const from16 = { ...ok, current: { ...ok.current, version: '16' } };
    expect([rebuilds(from16, false), rebuilds(ok, false), rebuilds(ok, true)]).toEqual([true, false, true]);
    expect(rebuilds({ ...from16, slots: [], subscriptions: [] }, false)).toBe(false);
    expect(refusal(from16, 18, false, false, true)).toBeUndefined();
    const busy = { ...from16, services: ['freeswitch.service'], sessions: [{ ...session, client: '127.0.0.1' }] };
    const e = refusal(busy, 18, false, false, true);
    expect([e?.code, e?.message, e?.hint]).toEqual([
      'REFUSED',
      "the pair's slot here is re-created after the upgrade (pg_upgrade carries none from 16): a write made here " +
        'before it exists would never reach the peer, and freeswitch.service, a session of fusionpbx from 127.0.0.1 ' +
        'can write',
      'stop them for the upgrade (the peer takes the calls meanwhile), then re-run',
    ]);
    expect(refusal({ ...busy, current: ok.current }, 18, false, false, true)?.message).toMatch(
      /^the pair's slot here is re-created after the upgrade: a write/,
    );
    expect(refusal(busy, 18, false, false, false)).toBeUndefined();
  });

  it('refuses a copy without room, and lets --link through', () => {
    const full = { disk: { clusterBytes: 8 * 1024 ** 3, freeBytes: 8 * 1024 ** 3 } };
    expect(why(full)?.message).toMatch(/copy mode needs about 8\.8 GB free/);
    expect(why(full, { link: true })).toBeUndefined();
  });

  it('refuses a target cluster in the way unless it is empty and --replace-empty says so', () => {
    const existing = { running: true, empty: true, databases: [] };
    expect(why({ target: { ...ok.target, existing } })?.hint).toContain('pass --replace-empty');
    expect(why({ target: { ...ok.target, existing } }, { replaceEmpty: true })).toBeUndefined();
    const full = { running: true, empty: false, databases: ['crm'] };
    expect(why({ target: { ...ok.target, existing: full } }, { replaceEmpty: true })?.hint).toContain('it holds crm');
  });

  it('refuses a column option the target does not know, a lost slot, and tables still copying', () => {
    expect(why({ unknownColumnOptions: ['pg_attver'] })?.message).toContain(
      "PostgreSQL 17's columns carry pg_attver, which the installed PostgreSQL 18 does not know",
    );
    expect(why({ slots: [{ name: 's', walStatus: 'lost', active: false }] })?.code).toBe('REPLICATION_BROKEN');
    expect(why({ subscriptions: [{ name: 'x', enabled: true, notReady: 3 }] })?.message).toBe(
      'subscription x still copies 3 tables',
    );
  });

  it('after pg_upgrade refused the slot or subscription, names the way round', () => {
    const slot =
      'The slot "pgduplex_from_b" has not consumed the WAL yet (/var/log/postgresql/x/invalid_logical_slots.txt)';
    expect(failedHint(slot, false)).toContain('re-run with --recreate-replication');
    expect(failedHint(slot, true)).toBe('fix what it names, then re-run pgduplex pg-upgrade');
    expect(failedHint('ERROR:  could not access file "$libdir/postgis-3"', false)).toBe(
      'fix what it names, then re-run pgduplex pg-upgrade',
    );
  });
});
