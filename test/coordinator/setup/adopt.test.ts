import { describe, expect, it } from 'vitest';
import { readAdoption, type AdoptNode } from '../../../coordinator/setup/adopt.js';
import { accessConfirmation, adoptPhases } from '../../../coordinator/setup/adopt-plan.js';
import { sequenceSlots } from '../../../coordinator/setup/steps.js';
import type { ForeignReplication } from '../../../shared/protocol/foreign.js';

const A = { side: 'local' as const, node: 'a', address: '10.0.0.1' };
const B = { side: 'peer' as const, node: 'b', address: '10.0.0.2' };
const none: ForeignReplication = { publications: [], subscriptions: [], slots: [], hbaBlocks: [], firewall: [] };
const sub = (name: string, host: string, pub: string, enabled = true) => ({
  name,
  oid: 16500,
  enabled,
  slot: name,
  publications: [pub],
  host,
  port: null,
  user: 'fusionpbx',
});
const slot = (name: string, active = true) => ({ name, plugin: 'pgoutput', active, syncOf: null });
const hba = (peer: string) => ({ file: '/etc/postgresql/17/main/pg_hba.conf', peer, begin: 120, end: 125, rules: [] });
const rule = (peer: string) => ({
  family: 4 as const,
  position: 3,
  rule: `-A INPUT -s ${peer}/32 -p tcp --dport 5432`,
});

// What replication.foreign answers on each node of a pair the script set up from a.
const scriptA: ForeignReplication = {
  publications: [{ name: 'fspbx_publication_a', allTables: true }],
  subscriptions: [sub('fspbx_subscription_b_to_a', B.address, 'fspbx_publication_b')],
  slots: [slot('fspbx_subscription_a_to_b')],
  hbaBlocks: [hba(B.address)],
  firewall: [rule(B.address)],
};
const scriptB: ForeignReplication = {
  publications: [{ name: 'fspbx_publication_b', allTables: true }],
  subscriptions: [sub('fspbx_subscription_a_to_b', A.address, 'fspbx_publication_a')],
  slots: [slot('fspbx_subscription_b_to_a')],
  hbaBlocks: [hba(A.address)],
  firewall: [rule(A.address)],
};
const node = (
  ref: typeof A | typeof B,
  foreign: ForeignReplication,
  subs: Record<string, boolean> = {},
  slots: string[] = [],
): AdoptNode => ({
  ref,
  foreign,
  pgduplexSubs: new Map(Object.entries(subs)),
  slots,
});

describe('setup --adopt reads the script-made pair', () => {
  it('finds both directions, what the handover leaves behind and the access to remove', () => {
    const a = readAdoption(node(A, scriptA), node(B, scriptB), 'fusionpbx')!;
    expect(a.begun).toBe(false);
    expect(a.directions.map((d) => [d.from.node, d.to.node, d.old?.subscription, d.old?.slot, d.handedOver])).toEqual([
      ['a', 'b', 'fspbx_subscription_a_to_b', 'fspbx_subscription_a_to_b', false],
      ['b', 'a', 'fspbx_subscription_b_to_a', 'fspbx_subscription_b_to_a', false],
    ]);
    expect(a.leftovers).toEqual([
      {
        side: 'local',
        node: 'a',
        subscription: 'fspbx_subscription_b_to_a',
        slot: 'fspbx_subscription_a_to_b',
        publication: 'fspbx_publication_a',
      },
      {
        side: 'peer',
        node: 'b',
        subscription: 'fspbx_subscription_a_to_b',
        slot: 'fspbx_subscription_b_to_a',
        publication: 'fspbx_publication_b',
      },
    ]);
    expect(a.access.map((x) => [x.node, x.peer, x.what.length])).toEqual([
      ['a', B.address, 2],
      ['b', A.address, 2],
    ]);
    const c = accessConfirmation({ database: 'fusionpbx', source: A, target: B, pgPort: 5432 }, a)!;
    expect(c.question).toContain('on a: pg_hba.conf block "# >>> fspbx logical replication (10.0.0.2) >>>"');
    expect(c.question).toContain('iptables rule -A INPUT -s 10.0.0.1/32');
    expect(c.dataLoss).toBe(false);
  });

  it('plans slot copy then subscription per direction, the drops after both, the verify last', () => {
    const adoption = readAdoption(node(A, scriptA), node(B, scriptB), 'fusionpbx')!;
    const f = { database: 'fusionpbx', source: A, target: B, pgPort: 5432 };
    const phases = adoptPhases({ f, adoption, binary: true, before: ['x'], verify: { excluded: [] } });
    expect(phases.map((p) => p.steps.map((s) => `${s.node}:${s.action}`))).toEqual([
      ['a:slot-copy', 'b:subscription-adopt'],
      ['b:slot-copy', 'a:subscription-adopt'],
      ['a:foreign-drop', 'b:foreign-drop', 'a:foreign-drop', 'b:foreign-drop'],
      ['a:foreign-access', 'b:foreign-access'],
      ['a+b:verify'],
    ]);
    const adopt = phases[0]!.steps[1]!;
    expect(adopt.params).toMatchObject({
      name: 'pgduplex_from_a',
      adopt: 'fspbx_subscription_a_to_b',
      publication: 'pgduplex_pub',
      peer: { host: A.address, user: 'pgduplex_repl' },
      options: { copyData: false, origin: 'none' },
    });
    expect(adopt.after).toContain(phases[0]!.steps[0]!.id);
    expect(phases[4]!.steps[0]!.params['settled']).toEqual({
      onSource: 'pgduplex_from_a',
      onTarget: 'pgduplex_from_b',
    });
  });

  it('refuses, naming them, objects outside the shape the script makes', () => {
    const extra: ForeignReplication = {
      ...scriptB,
      subscriptions: [...scriptB.subscriptions, sub('cdc_feed', '192.0.2.9', 'cdc')],
      slots: [...scriptB.slots, slot('debezium', false)],
    };
    expect(() => readAdoption(node(A, scriptA), node(B, extra), 'fusionpbx')).toThrowError(
      new RegExp(
        'cannot take over: on b: subscription cdc_feed \\(connecting to 192\\.0\\.2\\.9, not the peer\\); ' +
          'on b: replication slot debezium',
      ),
    );
  });

  it('resumes a handover begun: one direction streaming through pgduplex, the script gone there', () => {
    const a2: ForeignReplication = {
      ...scriptA,
      subscriptions: [sub('fspbx_subscription_b_to_a', B.address, 'fspbx_publication_b', false)],
    };
    const b2: ForeignReplication = { ...scriptB, subscriptions: [] };
    const a3 = { ...a2, slots: [slot('fspbx_subscription_a_to_b', false)] };
    const r = readAdoption(
      node(A, a3, {}, ['fspbx_subscription_a_to_b', 'pgduplex_from_a']),
      node(B, b2, { pgduplex_from_a: true }),
      'fusionpbx',
    )!;
    expect(r.begun).toBe(true);
    expect(r.directions[0].handedOver).toBe(true);
    expect(r.directions[0].old).toBeUndefined();
    expect(r.directions[1].old?.enabled).toBe(false);
  });

  it('has nothing to adopt when nothing of the script is left', () => {
    const subs = { pgduplex_from_a: true, pgduplex_from_b: true };
    expect(readAdoption(node(A, none, subs), node(B, none, subs), 'fusionpbx')).toBeUndefined();
  });

  it('refuses a direction with neither the script nor pgduplex', () => {
    const b2: ForeignReplication = { ...scriptB, subscriptions: [] };
    expect(() => readAdoption(node(A, scriptA), node(B, b2), 'fusionpbx')).toThrowError(
      /b has no subscription to a, neither the script's nor pgduplex's/,
    );
  });
});

describe('sequenceSlots', () => {
  const q = (increment: number, next: number) => ({ increment, next });
  it('keeps the residues a pair set up from the other node hands out, else odd for the source', () => {
    expect(sequenceSlots([q(2, 502), q(1, 7)], [q(2, 503)])).toEqual({ source: 2, target: 1 });
    expect(sequenceSlots([q(2, 503)], [q(2, 502)])).toEqual({ source: 1, target: 2 });
    expect(sequenceSlots([q(1, 10)], [q(1, 10)])).toEqual({ source: 1, target: 2 });
    expect(sequenceSlots([], [])).toEqual({ source: 1, target: 2 });
    expect(sequenceSlots([q(2, 502)], [q(2, 504)])).toEqual({ source: 1, target: 2 });
  });
});
