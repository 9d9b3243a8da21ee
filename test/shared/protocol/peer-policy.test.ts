import { describe, expect, it } from 'vitest';
import { ACTIONS, CHANGES, changeNamed } from '../../../shared/protocol/catalogue.js';
import type { ActionDescriptor } from '../../../shared/protocol/actions.js';
import type { PairPolicy } from '../../../shared/protocol/peer-policy.js';
import { pgReachAction } from '../../../shared/protocol/postgres.js';
import { tablesDiffAction } from '../../../shared/protocol/data.js';
import { replicationForeignAction, type ForeignReplication } from '../../../shared/protocol/foreign.js';
import { readAdoption } from '../../../coordinator/setup/adopt.js';
import { adoptPhases } from '../../../coordinator/setup/adopt-plan.js';
import {
  configureSteps,
  credentialSteps,
  extensionStep,
  publishSteps,
  sequenceStep,
  subscriptionStep,
  type PairFacts,
} from '../../../coordinator/setup/steps.js';

/** What replication.foreign answers on `node` of a pair FS PBX's script set up (`other` at `otherAddress`). */
const script = (node: string, other: string, otherAddress: string): ForeignReplication => ({
  publications: [{ name: `fspbx_publication_${node}`, allTables: true }],
  subscriptions: [
    {
      name: `fspbx_subscription_${other}_to_${node}`,
      oid: 1,
      enabled: true,
      slot: `fspbx_subscription_${other}_to_${node}`,
      publications: [`fspbx_publication_${other}`],
      host: otherAddress,
      port: null,
      user: 'fusionpbx',
    },
  ],
  slots: [{ name: `fspbx_subscription_${node}_to_${other}`, plugin: 'pgoutput', active: true, syncOf: null }],
  hbaBlocks: [{ file: '/etc/postgresql/17/main/pg_hba.conf', peer: otherAddress, begin: 1, end: 5, rules: [] }],
  firewall: [],
});

// b's view: a (10.0.0.1) is its paired peer; setup runs on a, so b's steps reach b as peer calls.
const f: PairFacts = {
  database: 'fusionpbx',
  source: { side: 'local', node: 'a', address: '10.0.0.1' },
  target: { side: 'peer', node: 'b', address: '10.0.0.2' },
  pgPort: 5432,
};
const b: PairPolicy = {
  node: 'b',
  peerNode: 'a',
  peerAddress: '10.0.0.1',
  addresses: ['127.0.0.1', '10.0.0.2', '::1'],
  pgPort: 5432,
  role: 'pgduplex_repl',
  databases: ['fusionpbx'],
  schemas: ['public'],
};

const ask = (d: ActionDescriptor | undefined, params: unknown) => {
  if (!d?.peer) throw new Error(`no peer rule for ${d?.name}`);
  return d.peer(d.params.parse(params) as never, b);
};
const change = (name: string) => changeNamed(name)?.apply;

describe('the pair policy', () => {
  it('lets every step setup sends to the peer through, as setup sends it', () => {
    const steps = [
      ...configureSteps(f, { peer: 'localhost,10.0.0.2' }),
      ...credentialSteps(f, 'x'.repeat(32)),
      extensionStep(f, [{ name: 'uuid-ossp', schema: 'public', version: '1.1' }]),
      sequenceStep(f, f.target, 2),
      ...publishSteps(f, { all: true }),
      subscriptionStep(f, f.target, f.source, true),
    ].filter((s) => s.side === 'peer');
    expect(steps.map((s) => s.action)).toContain('subscription');
    for (const s of steps) expect(ask(change(s.action), s.params), s.action).toBeUndefined();
  });

  it.each([
    ['firewall', { peer: '203.0.113.9', ports: [{ port: 5432, purpose: 'postgresql' }] }, 'peer'],
    ['firewall', { peer: '10.0.0.1', ports: [{ port: 22, purpose: 'ssh' }] }, 'ports'],
    [
      'pg-hba',
      { peer: '10.0.0.1', role: 'pgduplex_repl', database: 'fusionpbx', physicalReplication: true },
      'physical',
    ],
    ['pg-hba', { peer: '10.0.0.1', role: 'pgduplex_repl', database: 'postgres' }, 'database'],
    ['pg-hba', { peer: '10.0.0.1', role: 'fusionpbx', database: 'fusionpbx' }, 'role'],
    ['pg-role', { role: 'fusionpbx', password: 'x'.repeat(32) }, 'role'],
    [
      'pg-role',
      {
        role: 'pgduplex_repl',
        password: 'x'.repeat(32),
        grantSelectOn: { database: 'fusionpbx', schema: 'pg_catalog' },
      },
      'grantSelectOn.schema',
    ],
    ['pg-settings', { settings: { listen_addresses: '*' } }, 'settings.listen_addresses'],
    [
      'pg-passfile',
      { host: '203.0.113.9', port: 5432, database: 'fusionpbx', user: 'pgduplex_repl', password: 'x'.repeat(32) },
      'host',
    ],
    [
      'extensions',
      { database: 'fusionpbx', extensions: [{ name: 'dblink', schema: 'public', version: '1.2' }] },
      'extensions',
    ],
    ['slot-drop', { slot: 'pgduplex_from_a', confirmRetainedBytesAtLeast: 0 }, 'slot'],
    ['subscription-drop', { database: 'fusionpbx', name: 'other_sub' }, 'name'],
    ['schema-import', { database: 'fusionpbx', schema: 'secret' }, 'schema'],
  ])('refuses %s naming %s', (action, params, param) => {
    expect(ask(change(action), params)?.param).toContain(param);
  });

  it('holds the subscription to fixed options and to the peer', () => {
    const ok = subscriptionStep(f, f.target, f.source, false).params as Record<string, unknown>;
    const with_ = (patch: Record<string, unknown>) => ({ ...ok, ...patch });
    const opts = ok['options'] as Record<string, unknown>;
    expect(ask(change('subscription'), with_({ options: { ...opts, runAsOwner: true } }))?.param).toBe(
      'options.runAsOwner',
    );
    expect(ask(change('subscription'), with_({ options: { ...opts, passwordRequired: false } }))?.param).toBe(
      'options.passwordRequired',
    );
    expect(ask(change('subscription'), with_({ options: { ...opts, origin: 'any' } }))?.param).toBe('options.origin');
    const peer = ok['peer'] as Record<string, unknown>;
    expect(ask(change('subscription'), with_({ peer: { ...peer, host: '203.0.113.9' } }))?.param).toBe('peer.host');
    expect(ask(change('subscription'), with_({ peer: { ...peer, user: 'postgres' } }))?.param).toBe('peer.user');
  });

  it("lets the peer hand over and drop only the script's objects, as setup --adopt sends them", () => {
    const adoption = readAdoption(
      { ref: f.source, foreign: script('a', 'b', '10.0.0.2'), pgduplexSubs: new Map(), slots: [] },
      { ref: f.target, foreign: script('b', 'a', '10.0.0.1'), pgduplexSubs: new Map(), slots: [] },
      'fusionpbx',
    )!;
    const steps = adoptPhases({ f, adoption, binary: true, before: [], verify: {} })
      .flatMap((p) => p.steps)
      .filter((s) => s.side === 'peer' && s.kind === 'change');
    expect(steps.map((s) => s.action)).toEqual([
      'subscription-adopt',
      'slot-copy',
      'foreign-drop',
      'foreign-drop',
      'foreign-access',
    ]);
    for (const s of steps) expect(ask(change(s.action), s.params), s.action).toBeUndefined();
    const adopt = steps[0]!.params;
    expect(ask(change('subscription-adopt'), { ...adopt, adopt: 'pgduplex_from_b' })?.param).toBe('adopt');
    expect(
      ask(change('subscription-adopt'), { ...adopt, peer: { ...(adopt['peer'] as object), host: '203.0.113.9' } })
        ?.param,
    ).toBe('peer.host');
    expect(ask(change('slot-copy'), { database: 'fusionpbx', from: 'debezium', to: 'pgduplex_from_b' })?.param).toBe(
      'from',
    );
    expect(
      ask(change('slot-copy'), { database: 'fusionpbx', from: 'fspbx_subscription_b_to_a', to: 'pgduplex_from_a' })
        ?.param,
    ).toBe('to');
    expect(ask(change('foreign-drop'), { database: 'fusionpbx', slot: 'debezium' })?.param).toBe('slot');
    expect(ask(change('foreign-drop'), { database: 'fusionpbx', publication: 'pgduplex_pub' })?.param).toBe(
      'publication',
    );
    expect(ask(change('foreign-access'), { peer: '203.0.113.9', port: 5432 })?.param).toBe('peer');
    expect(ask(change('foreign-access'), { peer: '10.0.0.1', port: 22 })?.param).toBe('port');
  });

  it('lets reads reach only the peer and the replicated schema', () => {
    expect(ask(pgReachAction, { host: '10.0.0.1', port: 5432 })).toBeUndefined();
    expect(ask(pgReachAction, { host: '192.168.1.1', port: 22 })?.param).toBe('host');
    expect(ask(tablesDiffAction, { database: 'fusionpbx', schema: 'public', table: 'v_users' })).toBeUndefined();
    expect(ask(tablesDiffAction, { database: 'postgres', schema: 'public', table: 'x' })?.param).toBe('database');
    const foreign = { database: 'fusionpbx', peer: '10.0.0.1', port: 5432 };
    expect(ask(replicationForeignAction, foreign)).toBeUndefined();
    expect(ask(replicationForeignAction, { ...foreign, database: 'postgres' })?.param).toBe('database');
    expect(ask(replicationForeignAction, { ...foreign, peer: '203.0.113.9' })?.param).toBe('peer');
    expect(ask(replicationForeignAction, { ...foreign, port: 22 })?.param).toBe('port');
  });

  it('has a rule on every action the peer may call, and keeps scratch restores local', () => {
    const all = [...ACTIONS, ...CHANGES.flatMap((c) => [c.check, c.apply])];
    const missing = all.filter((d) => d.callers.includes('peer') && !d.peer).map((d) => d.name);
    expect(missing).toEqual([]);
    expect(changeNamed('backup-restore')?.callers).toEqual(['local']);
  });
});
