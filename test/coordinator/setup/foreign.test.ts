import { describe, expect, it } from 'vitest';
import { describeForeign, foreignRefusal } from '../../../coordinator/setup/foreign.js';
import type { ForeignReplication } from '../../../shared/protocol/foreign.js';

const none: ForeignReplication = { publications: [], subscriptions: [], slots: [], hbaBlocks: [], firewall: [] };
// What replication.foreign answers on a and on b of a pair FS PBX's script set up from a.
const a: ForeignReplication = {
  publications: [{ name: 'fspbx_publication_a', allTables: true }],
  subscriptions: [
    {
      name: 'fspbx_subscription_b_to_a',
      oid: 16500,
      enabled: true,
      slot: 'fspbx_subscription_b_to_a',
      publications: ['fspbx_publication_b'],
      host: '10.0.0.2',
      port: null,
      user: 'fusionpbx',
    },
  ],
  slots: [
    { name: 'fspbx_subscription_a_to_b', plugin: 'pgoutput', active: true, syncOf: null },
    { name: 'pg_16600_sync_16401_7400000000000000001', plugin: 'pgoutput', active: true, syncOf: 16600 },
    { name: 'pg_17000_sync_16402_7400000000000000001', plugin: 'pgoutput', active: false, syncOf: 17000 },
  ],
  hbaBlocks: [{ file: '/etc/postgresql/17/main/pg_hba.conf', peer: '10.0.0.2', begin: 120, end: 124, rules: [] }],
  firewall: [{ family: 4, position: 9, rule: '-A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT' }],
};
const b: ForeignReplication = {
  ...none,
  subscriptions: [
    {
      name: 'fspbx_subscription_a_to_b',
      oid: 16600,
      enabled: true,
      slot: 'fspbx_subscription_a_to_b',
      publications: ['fspbx_publication_a'],
      host: '10.0.0.1',
      port: null,
      user: 'fusionpbx',
    },
  ],
};

describe('replication pgduplex did not make', () => {
  it("names each of the script's objects on a, and the table copy slot of b's subscription", () => {
    expect(describeForeign(a, b)).toEqual([
      'publication fspbx_publication_a (FOR ALL TABLES)',
      'subscription fspbx_subscription_b_to_a (enabled, publication fspbx_publication_b, connecting ' +
        'host=10.0.0.2 user=fusionpbx)',
      'logical replication slot fspbx_subscription_a_to_b (active)',
      'logical replication slot pg_16600_sync_16401_7400000000000000001 (the table copy of fspbx_subscription_a_to_b)',
      'pg_hba.conf block "# >>> fspbx logical replication (10.0.0.2) >>>" (/etc/postgresql/17/main/pg_hba.conf, ' +
        'lines 120-124)',
      'iptables INPUT rule 9: -A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT',
    ]);
  });

  it("leaves out a table copy slot of pgduplex's own subscription (its oid is no foreign subscription)", () => {
    const own = { ...none, slots: [{ name: 'pg_16600_sync_1_2', plugin: 'pgoutput', active: true, syncOf: 16600 }] };
    expect(describeForeign(own, none)).toEqual([]);
  });

  it('refuses naming every object per node, with a hint that says what to do and why', () => {
    const err = foreignRefusal(
      [
        { node: 'a', objects: describeForeign(a, b) },
        { node: 'b', objects: describeForeign(b, a) },
      ],
      'fusionpbx',
    );
    expect(err?.code).toBe('FOREIGN_REPLICATION');
    expect(err?.message).toMatch(/^fusionpbx is already replicated by something other than pgduplex/);
    expect(err?.message).toContain('on a: publication fspbx_publication_a (FOR ALL TABLES); subscription');
    expect(err?.message).toContain('; on b: subscription fspbx_subscription_a_to_b (enabled');
    expect(err?.hint).toContain('nothing was changed');
    expect(err?.hint).toContain('applied twice');
    expect(err?.hint).toContain('pgduplex setup --adopt (--dry-run first');
  });

  it('does not refuse a pair with nothing foreign', () => {
    expect(
      foreignRefusal(
        [
          { node: 'a', objects: [] },
          { node: 'b', objects: [] },
        ],
        'fusionpbx',
      ),
    ).toBeUndefined();
  });
});
