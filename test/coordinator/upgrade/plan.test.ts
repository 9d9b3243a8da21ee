import { describe, expect, it } from 'vitest';
import { parseMajor } from '../../../coordinator/cli/pg-upgrade.js';
import { upgradeWords } from '../../../coordinator/upgrade/plan.js';
import type { UpgradeFacts } from '../../../shared/protocol/upgrade.js';

const cluster = { version: '17', name: 'main', port: 5432, dataDir: '/var/lib/postgresql/17/main', running: true };
const facts: UpgradeFacts = {
  current: { ...cluster, start: 'auto' },
  clusters: [{ ...cluster, start: 'auto' }],
  target: { major: 18, installed: true, packages: ['postgresql-18', 'postgresql-client-18'], existing: null },
  disk: { clusterBytes: 2.5 * 1024 ** 3, freeBytes: 40 * 1024 ** 3 },
  unknownColumnOptions: [],
  sessions: [{ database: 'fusionpbx', user: 'fusionpbx', application: 'php-fpm', client: 'local' }],
  services: ['freeswitch.service'],
  slots: [],
  subscriptions: [],
  running: false,
  parked: false,
  replaced: [],
};
const pair = {
  database: 'fusionpbx',
  source: { side: 'local' as const, node: 'pbx2', address: '10.0.0.2' },
  target: { side: 'peer' as const, node: 'pbx1', address: '10.0.0.1' },
  pgPort: 5432,
};

describe('pg-upgrade, before it runs', () => {
  it('takes a major of 16 or newer and names a bad one', () => {
    expect(parseMajor('18')).toBe(18);
    for (const bad of ['15', '18.1', 'eighteen', '', undefined])
      expect(() => parseMajor(bad)).toThrow(/--to must be a PostgreSQL major of 16 or newer/);
  });

  it('says what loses the database here, who keeps serving, the disk, and the way back', () => {
    const words = upgradeWords(pair, facts, ['upgrade 17/main to 18/main with pg_upgradecluster (copy: …)'], {
      to: 18,
      link: false,
      rebuild: false,
    });
    expect(words.join('\n')).toContain('pbx1 keeps taking the calls and the writes');
    expect(words.join('\n')).toContain(
      'on pbx2 these lose the database for the upgrade (stop them first, calls go to pbx1): freeswitch.service ' +
        '(running); a session of fusionpbx on fusionpbx from local (php-fpm)',
    );
    expect(words.join('\n')).toContain('the cluster holds 2.5 GB, 40.0 GB free; copy mode needs about as much again');
    expect(words).toContain('pbx2: upgrade 17/main to 18/main with pg_upgradecluster (copy: …)');
    expect(words.at(-1)).toBe('later: pgduplex pg-upgrade --finish removes the old cluster (after a backup)');
    expect(upgradeWords(pair, facts, [], { to: 18, link: true, rebuild: false }).join('\n')).not.toContain('--finish');
  });

  it('says when the peer pauses for a re-created slot, and that writers here must stop', () => {
    const words = upgradeWords(pair, facts, [], { to: 18, link: false, rebuild: true }).join('\n');
    expect(words).toContain("pause pbx1's subscription from pbx2 until pbx2's slot is re-created");
    expect(words).toContain('(php-fpm) (re-creating the slot, pg-upgrade refuses while they can write)');
  });
});
