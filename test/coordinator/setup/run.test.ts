import { fakeAgents as inMemory } from '../../support/fake-agents.js';
import { describe, expect, it } from 'vitest';
import type { Agents, Side } from '../../../coordinator/setup/agents.js';
import { execute } from '../../../coordinator/setup/execute.js';
import { GENERATED_PASSWORD, planSetup } from '../../../coordinator/setup/plan.js';
import { preview } from '../../../coordinator/setup/preview.js';
import type { Bootstrap } from '../../../coordinator/setup/bootstrap.js';
import { PgduplexError } from '../../../shared/errors.js';
import { facts } from './facts.js';

type Call = { side: Side; action: string; params: Record<string, unknown> };

/** Agents that answer every action setup uses: checks find `pending` work, applies change it (or say they did not). */
function fakeAgents(o: { pending: boolean; applyChanged?: boolean }) {
  const calls: Call[] = [];
  const answer = (side: Side, action: string): unknown => {
    const name = action.replace(/\.(check|apply)$/, '');
    if (action.endsWith('.check')) {
      return o.pending ? { changes: [`${name} change`], restartNeeded: name === 'pg-settings' } : { changes: [] };
    }
    if (action === 'backup.apply') return { artifact: 'bk1', notes: ['/var/backups/pgduplex/bk1'] };
    const changed = o.applyChanged ?? true;
    const restartNeeded = changed && name === 'pg-settings';
    if (action.endsWith('.apply')) return { changed, changes: [`${name} done`], journalId: `j-${name}`, restartNeeded };
    const answers: Record<string, unknown> = {
      'pg-service.restart': {},
      'pg.reach': { reachable: true, ms: 2 },
      'subscription.status': [
        { name: `pgduplex_from_${side === 'peer' ? 'a' : 'b'}`, tables: { r: 2 }, tableBytes: 10, finishedCopy: [] },
      ],
      'replication.status': { slots: [], walLsn: '0/0', maxSlotWalKeepSize: '10GB' },
      'verified.get': { verifiedAt: '2026-01-01T00:00:00Z', current: true },
      'verified.set': {},
      'tables.checksum': [],
      'schema.digest': {},
      'sequences.status': [],
    };
    if (!(action in answers)) throw new Error(`unexpected ${action}`);
    return answers[action];
  };
  const agents: Agents = inMemory((side, action, params) => {
    calls.push({ side, action, params: params as Record<string, unknown> });
    return answer(side, action);
  });
  return { agents, calls };
}

const run = (boot: Bootstrap = { kind: 'import' }, over: { credentialsInPlace?: boolean } = {}) =>
  planSetup(facts(boot, over), { keyless: undefined });
const setUp = () => run({ kind: 'subscribed' }, { credentialsInPlace: true });
const collect = () => {
  const lines: string[] = [];
  const report = (status: string, node: string, what: string) => void lines.push(`${status} ${node} ${what}`);
  return { lines, report };
};
const opts = (report: (s: string, n: string, w: string) => void) => ({ yes: false, replacePeerData: false, report });

describe('execute (a real run of the plan)', () => {
  it('runs each step as check then apply, restarts where pg-settings asked, gives the role one password', async () => {
    const { agents, calls } = fakeAgents({ pending: true });
    const { lines, report } = collect();
    const r = await execute(agents, run(), opts(report));
    const applies = calls.filter((c) => c.action.endsWith('.apply')).map((c) => `${c.side} ${c.action}`);
    expect(applies.slice(0, 6)).toEqual([
      'local firewall.apply',
      'local pg-settings.apply',
      'local pg-hba.apply',
      'peer firewall.apply',
      'peer pg-settings.apply',
      'peer pg-hba.apply',
    ]);
    const restarts = calls.filter((c) => c.action === 'pg-service.restart').map((c) => c.params);
    expect(restarts).toEqual([{ restoreJournalId: 'j-pg-settings' }, { restoreJournalId: 'j-pg-settings' }]);
    const credentials = calls.filter((c) => c.action === 'pg-role.apply' || c.action === 'pg-passfile.apply');
    const passwords = new Set(credentials.map((c) => c.params['password']));
    expect(passwords.size).toBe(1);
    const [password] = [...passwords] as string[];
    expect(password).not.toBe(GENERATED_PASSWORD);
    expect(password!.length).toBeGreaterThanOrEqual(16);
    expect(lines.join('\n')).not.toContain(password);
    expect(lines).toContain('changed b pg-service: restarted PostgreSQL for the new settings');
    expect(lines).toContain('ok b reach: PostgreSQL on a (10.0.0.1:5432) answers in 2 ms');
    // It changed things: every row is compared, not skipped on the last compare's record.
    expect(r.changed).toBe(true);
    expect(calls.some((c) => c.action === 'verified.get')).toBe(false);
    expect(calls.some((c) => c.action === 'tables.checksum')).toBe(true);
  });

  it('takes `changed` from what the applies answered, not from the lines they print', async () => {
    // The checks saw work, but each apply found it done by then (another run got there first): nothing changed.
    const { agents, calls } = fakeAgents({ pending: true, applyChanged: false });
    const { lines, report } = collect();
    const r = await execute(agents, setUp(), opts(report));
    expect(calls.filter((c) => c.action.endsWith('.apply')).length).toBeGreaterThan(5);
    expect(lines).toContain('ok a firewall: firewall done');
    expect(r.changed).toBe(false);
    expect(calls.some((c) => c.action === 'verified.get')).toBe(true);
    // Applies that changed something make the run a changed one.
    const restarted = fakeAgents({ pending: true });
    expect((await execute(restarted.agents, setUp(), opts(collect().report))).changed).toBe(true);
    const quiet = fakeAgents({ pending: false });
    const q = await execute(quiet.agents, setUp(), opts(collect().report));
    expect(q.changed).toBe(false);
    expect(quiet.calls.some((c) => c.action.endsWith('.apply') || c.action === 'pg-service.restart')).toBe(false);
    expect(quiet.calls.some((c) => c.action === 'verified.get')).toBe(true);
  });

  it("refuses to replace the peer's rows without --replace-peer-data before anything changes", async () => {
    const { agents, calls } = fakeAgents({ pending: true });
    const boot: Bootstrap = { kind: 'replace', tables: 1, rows: 7, what: 'the database fusionpbx on b' };
    const err = await execute(agents, run(boot), { ...opts(collect().report), yes: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgduplexError);
    expect((err as PgduplexError).message).toBe('setup would destroy the database fusionpbx on b');
    expect(calls).toEqual([]);
    const asked: string[] = [];
    const confirm = async (q: string) => (asked.push(q), false);
    const asking = { ...opts(collect().report), confirm };
    const no = await execute(agents, run({ ...boot, rows: 0 }), asking).catch((e: unknown) => e);
    expect((no as PgduplexError).message).toBe('not confirmed: setup would replace the database fusionpbx on b');
    expect(asked).toEqual(['About to back up and then destroy the database fusionpbx on b. Continue?']);
    expect(calls).toEqual([]);
  });

  it('backs the peer up and gives the import that backup id', async () => {
    const { agents, calls } = fakeAgents({ pending: true });
    const boot: Bootstrap = { kind: 'replace', tables: 3, rows: 7, what: 'w' };
    const r = await execute(agents, run(boot), { ...opts(collect().report), yes: true, replacePeerData: true });
    const replace = { tables: 3, backupId: 'bk1' };
    expect(calls.find((c) => c.action === 'schema-import.apply')?.params).toEqual({ database: 'fusionpbx', replace });
    expect(r.backup).toBe('/var/backups/pgduplex/bk1');
  });
});

describe('preview (--dry-run)', () => {
  it('on a fresh pair: checks what it can now, predicts what depends on earlier steps, changes nothing', async () => {
    const { agents, calls } = fakeAgents({ pending: true });
    const { lines, report } = collect();
    const view = await preview(agents, run(), report);
    expect(calls.some((c) => c.action.endsWith('.apply') || c.action === 'pg-service.restart')).toBe(false);
    const steps = view.phases.flatMap((p) => p.steps);
    const byId = new Map(steps.map((s) => [s.id, s]));
    expect(byId.get('configure:a:pg-settings')?.check).toEqual({ predicted: false, changes: ['pg-settings change'] });
    expect(byId.get('restart:b:pg-service')?.check).toEqual({ predicted: false, changes: ['restart PostgreSQL'] });
    expect(byId.get('credentials:a:pg-role')?.check).toEqual({ predicted: false, changes: ['pg-role change'] });
    const later = [
      'reach:a:pg-reach',
      'subscription:b:subscription',
      'copy:b:initial-copy',
      'sequences:b:sequences',
      'subscription:a:subscription',
      'verify',
    ];
    for (const id of later) {
      expect(byId.get(id)?.check.predicted, id).toBe(true);
    }
    expect(lines).toContain('would a pg-settings: pg-settings change');
    expect(lines).toContain('would b pg-service: restart PostgreSQL');
    const predicted =
      'predict b subscription: subscription pgduplex_from_a with copy_data ' +
      '(its check needs the effect of configure on a, b; restart on a, b; credentials on a, b; publication on a; ' +
      'bootstrap on b; orphan-slot on a)';
    expect(lines).toContain(predicted);
    expect(byId.get('sequences:b:sequences')?.check).toEqual({
      predicted: true,
      reason: 'its check needs the effect of copy on b',
      after: ['copy:b:initial-copy'],
    });
    // The checks of the role got a password; the plan shown carries only the placeholder.
    const sent = calls.find((c) => c.action === 'pg-role.check')?.params['password'] as string;
    expect(sent).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const json = JSON.stringify(view);
    expect(json).not.toContain(sent);
    expect(byId.get('credentials:b:pg-passfile')?.params).toMatchObject({ password: GENERATED_PASSWORD });
    expect(steps.every((s) => s.node && s.action && s.params !== undefined)).toBe(true);
  });

  it('on a pair already set up: each check answered now, nothing to change, only verify predicted', async () => {
    const { agents } = fakeAgents({ pending: false });
    const { lines, report } = collect();
    const view = await preview(agents, setUp(), report);
    const predicted = view.phases
      .flatMap((p) => p.steps)
      .filter((s) => s.check.predicted)
      .map((s) => s.id);
    expect(predicted).toEqual(['verify']);
    expect(lines).toContain('ok b initial copy: all 2 tables are ready, nothing to copy');
    expect(lines).toContain('ok a+b credentials: replication role and passfiles in place');
    expect(lines.filter((l) => l.startsWith('would'))).toEqual([]);
  });

  it('shows the confirmation a real run would need', async () => {
    const { agents } = fakeAgents({ pending: true });
    const { lines, report } = collect();
    const boot: Bootstrap = { kind: 'replace', tables: 1, rows: 7, what: 'the database fusionpbx on b' };
    const view = await preview(agents, run(boot), report);
    const question = 'About to back up and then destroy the database fusionpbx on b. Continue?';
    const needs = '--replace-peer-data, and --yes or y at the prompt';
    expect(view.confirmations).toEqual([{ node: 'b', question, needs }]);
    expect(lines[0]).toBe(`confirm b bootstrap: a real run needs ${needs}: ${question}`);
    const prompt = await preview(agents, run({ ...boot, rows: 0 }), collect().report);
    expect(prompt.confirmations[0]?.needs).toBe('--yes or y at the prompt');
    expect(lines).toContain('would b backup: backup change');
  });
});
