import { describe, expect, it } from 'vitest';
import { refusal } from '../../../agent/actions/pg-upgrade.js';
import type { UpgradeFacts } from '../../../shared/protocol/upgrade.js';

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
  replaced: [],
};
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

  it('refuses from 16 while the pair replicates: pg_upgrade would not keep its slots', () => {
    const e = refusal({ ...ok, current: { ...ok.current, version: '16' } }, 18, false, false);
    expect(e?.message).toContain('only from PostgreSQL 17');
    expect(e?.hint).toContain('pgduplex teardown, then pg_upgradecluster -m upgrade 16 main, then pgduplex setup');
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
});
