import { describe, expect, it } from 'vitest';
import { BACKUP_ID, GENERATED_PASSWORD, planSetup, planSteps } from '../../../coordinator/setup/plan.js';
import type { SetupPlan } from '../../../coordinator/setup/plan.js';
import { facts, pg, pre } from './facts.js';

// planSetup is pure: facts in (as gather would read them), a plan out; no agent is involved.
const fresh = facts({ kind: 'import' });

const names = (p: SetupPlan) => p.phases.map((ph) => ph.name);
const line = (p: SetupPlan) => planSteps(p).map((s) => `${s.node} ${s.action}`);
const find = (p: SetupPlan, id: string) => planSteps(p).find((s) => s.id === id)!;
const deepFreeze = <T>(x: T): T => {
  if (x && typeof x === 'object') for (const v of Object.values(x)) deepFreeze(v);
  return Object.freeze(x);
};

describe('planSetup', () => {
  it('plans a fresh pair in the order setup runs, with the barriers between phases', () => {
    const p = planSetup(fresh, { keyless: undefined });
    expect(names(p)).toEqual([
      'configure',
      'restarts',
      'reaches',
      'credentials',
      'extensions',
      'bootstrap',
      'sequences',
      'publications',
      'subscription',
      'initial copy',
      'sequences after the copy',
      'reverse subscription',
      'verify',
    ]);
    expect(line(p)).toEqual([
      'a firewall',
      'a pg-settings',
      'a pg-hba',
      'b firewall',
      'b pg-settings',
      'b pg-hba',
      'a pg-service.restart',
      'b pg-service.restart',
      'b pg-reach',
      'a pg-reach',
      'a pg-role',
      'a pg-passfile',
      'b pg-role',
      'b pg-passfile',
      'b extensions',
      'b schema-import',
      'a sequences',
      'a publication',
      'b publication',
      'a slot-drop',
      'b subscription',
      'b subscription.status',
      'b sequences',
      'b slot-drop',
      'a subscription',
      'a+b verify',
    ]);
    expect(p.phases.filter((ph) => ph.parallel).map((ph) => ph.name)).toEqual(['restarts', 'reaches']);
    expect(p.phases.every((ph) => ph.barrier.length > 0)).toBe(true);
    expect(p.confirmations).toEqual([]);
    expect(p.bootstrap).toBe('import');
  });

  it('names what each step needs first: restarts their settings, subscriptions the role, sequences the copy', () => {
    const p = planSetup(fresh, { keyless: undefined });
    expect(find(p, 'restart:b:pg-service').after).toEqual(['configure:b:pg-settings']);
    const reach = find(p, 'reach:b:pg-reach').after;
    expect(reach).toEqual(expect.arrayContaining(['configure:a:pg-hba', 'restart:a:pg-service']));
    const sub = find(p, 'subscription:b:subscription');
    expect(sub.after).toEqual(
      expect.arrayContaining([
        'credentials:a:pg-role',
        'credentials:b:pg-passfile',
        'publication:a:publication',
        'bootstrap:b:schema-import',
        'restart:a:pg-service',
        'orphan-slot:a:slot-drop',
      ]),
    );
    const options = { copyData: true, binary: true, origin: 'none' };
    expect(sub.params).toMatchObject({ name: 'pgduplex_from_a', options });
    expect(find(p, 'sequences:b:sequences').after).toEqual(['copy:b:initial-copy']);
    expect(find(p, 'sequences:a:sequences').after).toEqual([]);
    const back = find(p, 'subscription:a:subscription').params;
    expect(back).toMatchObject({ name: 'pgduplex_from_b', options: { copyData: false } });
  });

  it('carries a placeholder, never a password: the role and passfile steps are given one only when they run', () => {
    const p = planSetup(fresh, { keyless: undefined });
    const creds = planSteps(p).filter((s) => s.action === 'pg-role' || s.action === 'pg-passfile');
    expect(creds).toHaveLength(4);
    for (const s of creds) expect(s.params['password']).toBe(GENERATED_PASSWORD);
  });

  it('on a pair already set up: one line for the credentials, no extensions, no copy of data, the same order', () => {
    const p = planSetup(facts({ kind: 'subscribed' }, { credentialsInPlace: true }), { keyless: undefined });
    expect(names(p)).not.toContain('extensions');
    const what = 'credentials: replication role and passfiles in place';
    expect(find(p, 'credentials').line).toEqual({ status: 'ok', what });
    expect(find(p, 'bootstrap:b:say').line?.what).toBe('bootstrap: already subscribed to the source, nothing to copy');
    expect(find(p, 'subscription:b:subscription').params).toMatchObject({ options: { copyData: false } });
    // A run cut short in the copy resumes waiting for it.
    expect(names(p)).toContain('initial copy');
  });

  it('keeps a target that has the same tables and no rows, saying so', () => {
    const p = planSetup(facts({ kind: 'kept', tables: 2 }), { keyless: undefined });
    const what = 'bootstrap: b already holds the same 2 tables and no rows; schema kept';
    expect(find(p, 'bootstrap:b:say').line?.what).toBe(what);
    expect(p.confirmations).toEqual([]);
  });

  it("replacing the peer's rows needs a confirmation and --replace-peer-data, and a backup before the import", () => {
    const what = 'the database fusionpbx on b (10.0.0.2): schema public, 3 tables, 7 rows';
    const p = planSetup(facts({ kind: 'replace', tables: 3, rows: 7, what }), { keyless: undefined });
    const boot = planSteps(p).filter((s) => s.id.startsWith('bootstrap:'));
    expect(boot.map((s) => s.action)).toEqual(['backup', 'schema-import']);
    const replace = { tables: 3, backupId: BACKUP_ID };
    expect(find(p, 'bootstrap:b:schema-import').params).toEqual({ database: 'fusionpbx', replace });
    expect(find(p, 'bootstrap:b:schema-import').after).toEqual(['bootstrap:b:backup']);
    const question = `About to back up and then destroy ${what}. Continue?`;
    expect(p.confirmations).toEqual([expect.objectContaining({ node: 'b', dataLoss: true, question })]);
    expect(p.confirmations[0]?.refusal.message).toBe(`setup would destroy ${what}`);
    const empty = planSetup(facts({ kind: 'replace', tables: 3, rows: 0, what }), { keyless: undefined });
    expect(empty.confirmations[0]?.dataLoss).toBe(false);
  });

  it('a resync waits for the catch-up, drops the subscription, backs up and copies again', () => {
    const slot = { slot: 'pgduplex_from_a', on: 'a', why: 'does not exist any more' };
    const what = 'the database fusionpbx on b';
    const p = planSetup(facts({ kind: 'resync', tables: 3, rows: 9, what, slot }), { keyless: undefined });
    const boot = planSteps(p).filter((s) => s.id.startsWith('bootstrap:'));
    expect(boot.map((s) => `${s.kind}:${s.node}:${s.action}`)).toEqual([
      'say:b:resync',
      'catch-up:a:replication.status',
      'change:b:subscription-drop',
      'backup:b:backup',
      'change:b:schema-import',
    ]);
    expect(p.confirmations[0]?.question).toMatch(/^the replication slot pgduplex_from_a on a that feeds b does not/);
    // The orphan-slot guard looks only once the subscription is gone.
    expect(find(p, 'orphan-slot:a:slot-drop').after).toEqual(expect.arrayContaining(['bootstrap:b:subscription-drop']));
    const noTables = planSetup(facts({ kind: 'resync', tables: 0, rows: 0, what: 'w', slot }), { keyless: undefined });
    expect(planSteps(noTables).map((s) => s.action)).not.toContain('backup');
  });

  it('gives keyless tables REPLICA IDENTITY FULL on the source first and on the target after its import', () => {
    const keyless = pre({ keyless: ['public.log'] });
    const p = planSetup(facts({ kind: 'import' }, { pre: keyless }), { keyless: 'replica-identity-full' });
    const both = ['replica identity on the source', 'replica identity on the target'];
    expect(names(p)).toEqual(expect.arrayContaining(both));
    expect(names(p).indexOf('replica identity on the source')).toBeLessThan(names(p).indexOf('extensions'));
    expect(find(p, 'identity:b:replica-identity').after).toEqual(['bootstrap:b:schema-import']);
    const tables = [{ schema: 'public', name: 'log' }];
    expect(find(p, 'identity:a:replica-identity').params).toEqual({ database: 'fusionpbx', tables });
    const excluded = planSetup(facts({ kind: 'import' }, { pre: keyless }), { keyless: 'exclude', fullVerify: true });
    expect(names(excluded)).not.toContain('replica identity on the source');
    expect(find(excluded, 'verify').params).toEqual({ excluded: ['public.log'], fullVerify: true });
  });

  it("widens listen_addresses only where the configuration without pgduplex's drop-in misses the address", () => {
    const o = { keyless: undefined, maxSlotWalKeepSize: '512MB' };
    const p = planSetup(facts({ kind: 'import' }, { pre: pre({}, pg(170006, '*')) }), o);
    const settings = { listen_addresses: 'localhost,10.0.0.1', max_slot_wal_keep_size: '512MB' };
    expect(find(p, 'configure:a:pg-settings').params).toMatchObject({ settings });
    const b = find(p, 'configure:b:pg-settings').params['settings'] as Record<string, string>;
    expect(b['listen_addresses']).toBeUndefined();
  });

  it('copies in text between different majors', () => {
    const p = planSetup(facts({ kind: 'import' }, { pre: pre({}, pg(180001)) }), { keyless: undefined });
    expect(find(p, 'subscription:b:subscription').params).toMatchObject({ options: { binary: false } });
  });

  it('is pure: the same facts give the same plan, and the facts are not touched', () => {
    const frozen = deepFreeze(facts({ kind: 'replace', tables: 1, rows: 1, what: 'w' }));
    expect(planSetup(frozen, { keyless: undefined })).toEqual(planSetup(frozen, { keyless: undefined }));
  });
});
