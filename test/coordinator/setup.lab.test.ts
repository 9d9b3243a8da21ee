import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { LAB, nodeExec, type NodeName } from '../lab/index.js';
import { undoEverything } from '../lab/undo-all.js';
import { pairLabNodes } from '../lab/pair.js';

// `pgduplex setup` from a, end to end on the two real nodes, then everything undone from the journals.
const sql = (node: NodeName, text: string) =>
  nodeExec(
    node,
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', 'fusionpbx', '-f', '-'],
    { input: text },
  );
const setup = (node: NodeName, ...args: string[]) =>
  nodeExec(node, ['pgduplex', 'setup', ...args], { reject: false, timeoutMs: 600_000 });
const started = async (node: NodeName) => (await sql(node, 'select pg_postmaster_start_time()')).stdout.trim();
const FIXTURE = `create extension if not exists pgcrypto;
create table v_domains (domain_uuid uuid primary key default gen_random_uuid(), domain_name text not null unique);
create table v_xml_cdr (xml_cdr_uuid uuid primary key default gen_random_uuid(), domain_uuid uuid references v_domains, json jsonb, start_stamp timestamptz default now());
create table jobs (id bigserial primary key, queue text, payload jsonb);
create table v_nokey_log (line text);
insert into v_domains (domain_name) select 'tenant' || g || '.example' from generate_series(1, 20) g;
insert into v_xml_cdr (domain_uuid, json) select d.domain_uuid, jsonb_build_object('n', g) from v_domains d, generate_series(1, 100) g;
insert into jobs (queue, payload) select 'default', '{}' from generate_series(1, 40);
insert into v_nokey_log select 'line ' || g from generate_series(1, 5) g;`;

const pendingCount = async (node: NodeName) =>
  (await agentOk<Array<{ undone: boolean }>>(node, 'journal.list')).filter((e) => !e.undone).length;
const before = { a: 0, b: 0 };

beforeAll(async () => {
  before.a = await pendingCount('a');
  before.b = await pendingCount('b');
  await pairLabNodes();
  await sql('a', FIXTURE);
}, 120_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const) {
    await sql(node, 'drop table if exists v_xml_cdr, v_domains, jobs, v_nokey_log;');
    await nodeExec(node, ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 300_000);

describe('pgduplex setup (from a, on the lab pair)', () => {
  it('refuses while a table without a key would break UPDATE/DELETE, naming it, and changes nothing', async () => {
    const r = await setup('a');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('public.v_nokey_log');
    expect(r.stderr).toContain('--exclude-tables-without-key');
    expect((await sql('a', 'show wal_level')).stdout.trim()).toBe('replica');
    expect(await pendingCount('a')).toBe(before.a);
  });

  it('dry run shows the plan per node and changes nothing', async () => {
    const r = await setup('a', '--dry-run', '--exclude-tables-without-key');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would\s+a\s+pg-settings: wal_level: replica -> logical/);
    expect(r.stdout).toMatch(/would\s+b\s+firewall: allow tcp\/5432/);
    expect(r.stdout).toMatch(/predict\s+b\s+subscription: subscription pgduplex_from_a with copy_data \(its check /);
    expect(r.stdout).toContain('dry run: nothing was changed');
    expect(await pendingCount('b')).toBe(before.b);
  });

  it('dry run --json: each step with node, action, params (no password), check answer or predicted', async () => {
    const r = await setup('a', '--dry-run', '--exclude-tables-without-key', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    type Check = { predicted: false; changes: string[] } | { predicted: true; reason: string };
    type Step = { id: string; node: string; action: string; params: Record<string, unknown>; check: Check };
    const doc = JSON.parse(r.stdout) as { dryRun: boolean; plan: { phases: Array<{ name: string; steps: Step[] }> } };
    expect(doc.dryRun).toBe(true);
    const steps = doc.plan.phases.flatMap((p) => p.steps);
    expect(doc.plan.phases.map((p) => p.name)).toEqual([
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
    for (const s of steps) {
      expect(['a', 'b', 'a+b'], s.id).toContain(s.node);
      expect(s.action, s.id).toMatch(/^[a-z.-]+$/);
      expect(typeof s.params, s.id).toBe('object');
      expect(s.check.predicted ? s.check.reason : s.check.changes, s.id).toBeDefined();
    }
    const byId = new Map(steps.map((s) => [s.id, s]));
    const walLevel = expect.arrayContaining([expect.stringMatching(/^wal_level: replica -> logical/)]);
    expect(byId.get('configure:a:pg-settings')?.check).toMatchObject({ predicted: false, changes: walLevel });
    expect(byId.get('restart:b:pg-service')?.check).toEqual({ predicted: false, changes: ['restart PostgreSQL'] });
    expect(byId.get('credentials:b:pg-role')?.check.predicted).toBe(false);
    const imports = [expect.stringContaining("import a's schema")];
    expect(byId.get('bootstrap:b:schema-import')?.check).toMatchObject({ predicted: false, changes: imports });
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
    for (const id of ['a:pg-role', 'a:pg-passfile', 'b:pg-role', 'b:pg-passfile'].map((x) => `credentials:${x}`)) {
      expect(byId.get(id)?.params['password'], id).toBe('<generated>');
    }
    expect(r.stdout).not.toMatch(/"password": "(?!<generated>)/);
    expect((await sql('a', 'show wal_level')).stdout.trim()).toBe('replica');
    expect((await sql('b', `select count(*) from pg_roles where rolname = 'pgduplex_repl'`)).stdout.trim()).toBe('0');
    for (const node of ['a', 'b'] as const) expect(await pendingCount(node)).toBe(before[node]);
  });

  it('sets up replication both ways and verifies both databases agree', async () => {
    const r = await setup('a', '--exclude-tables-without-key');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/verify: \d+ tables identical/);
    expect(r.stdout).toMatch(
      /^changed \d+ things: a: firewall, pg-settings, pg-hba, .*; b: firewall, pg-settings, pg-hba, .*$/m,
    );
    expect(r.stdout).toMatch(/^both databases agree; took [\d.]+ s$/m);
    expect(r.stdout).toContain(`reach: PostgreSQL on b (${LAB.nodes.b.ipv4}:5432) answers`);
    expect((await sql('b', 'select count(*) from v_xml_cdr')).stdout.trim()).toBe('2000');
    // Same major version and only types with binary I/O: the fast binary transfer, parallel streaming, origin none.
    for (const node of ['a', 'b'] as const)
      expect(
        (
          await sql(node, `select subbinary::text || ':' || substream::text || ':' || suborigin from pg_subscription`)
        ).stdout.trim(),
      ).toBe('true:p:none');
  });

  it('carries writes on a to b and writes on b to a, with no key collisions on a bigserial table', async () => {
    await sql(
      'a',
      `insert into v_domains (domain_name) values ('from-a.example'); insert into jobs (queue) select 'a' from generate_series(1, 25);`,
    );
    await sql(
      'b',
      `insert into v_domains (domain_name) values ('from-b.example'); insert into jobs (queue) select 'b' from generate_series(1, 25);`,
    );
    for (const node of ['a', 'b'] as const) {
      await waitFor(
        `both rows on ${node}`,
        () => sql(node, `select count(*) from v_domains where domain_name like 'from-%'`),
        (x) => x.stdout.trim() === '2',
        30_000,
      );
      await waitFor(
        `all jobs on ${node}`,
        () => sql(node, 'select count(*) from jobs'),
        (x) => x.stdout.trim() === '90',
        30_000,
      );
    }
    const subs = (
      await sql('a', `select string_agg(subname || ':' || subenabled, ',') from pg_subscription`)
    ).stdout.trim();
    expect(subs).toBe('pgduplex_from_b:true');
  });

  it('pgduplex verify agrees, names a table that differs while b stops applying, and agrees again after', async () => {
    const ok = await nodeExec('b', ['pgduplex', 'verify'], { reject: false });
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/verify: 3 tables identical/);
    await sql('b', 'alter subscription pgduplex_from_a disable;');
    await sql('a', `insert into v_domains (domain_name) values ('while-b-paused.example');`);
    const bad = await nodeExec('a', ['pgduplex', 'verify'], { reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(
      /DIFFERS .* public\.v_domains: 23 rows on a, 22 on b; e\.g\. \([0-9a-f-]{36}\) \(only on a\)$/m,
    );
    await sql('b', 'alter subscription pgduplex_from_a enable;');
    await waitFor(
      'b catches up',
      () => nodeExec('a', ['pgduplex', 'verify'], { reject: false }),
      (r) => r.exitCode === 0,
      30_000,
    );
  });

  it('pgduplex verify names a schema difference and sequences that would collide, and exits 1', async () => {
    await sql('b', 'alter table jobs add column note text; alter sequence jobs_id_seq increment by 1;');
    const r = await nodeExec('a', ['pgduplex', 'verify', '--json'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(1);
    const v = JSON.parse(r.stdout) as {
      differences: Array<{ table: string }>;
      schema: Array<{ table: string; source: string; target: string }>;
      sequences: Array<{ sequence: string; disjoint: boolean }>;
    };
    // The extra column also changes each row's text, so the content differs too, in that table only.
    expect(v.differences.map((d) => d.table)).toEqual(['public.jobs']);
    expect(v.schema.map((d) => d.table)).toEqual(['public.jobs']);
    expect(v.schema[0]?.target).toContain('note text');
    expect(v.sequences.filter((q) => !q.disjoint).map((q) => q.sequence)).toEqual(['public.jobs_id_seq']);
    await sql('b', 'alter table jobs drop column note; alter sequence jobs_id_seq increment by 2;');
    const ok = await nodeExec('a', ['pgduplex', 'verify'], { reject: false });
    expect(ok.exitCode, ok.stdout).toBe(0);
  });

  it('a second run changes nothing and restarts nothing', async () => {
    const before = await Promise.all([started('a'), started('b')]);
    const r = await setup('a', '--exclude-tables-without-key');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).not.toMatch(/^changed/m);
    expect(r.stdout).toContain('nothing to change');
    expect(r.stdout).toMatch(
      /verify: 3 tables \(contents not compared: compared \S+, nothing changed since; pgduplex verify compares them\), same schema, 1 sequences disjoint/,
    );
    const full = await setup('a', '--exclude-tables-without-key', '--full-verify');
    expect(full.stdout).toMatch(/verify: 3 tables identical \(rows and checksums\)/);
    expect(await Promise.all([started('a'), started('b')])).toEqual(before);
  });

  it("dry run on the pair set up: every step's check is answered now and finds nothing to change", async () => {
    const r = await setup('a', '--dry-run', '--exclude-tables-without-key', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    type Step = { id: string; check: { predicted: boolean; changes?: string[] } };
    const doc = JSON.parse(r.stdout) as { plan: { bootstrap: string; phases: Array<{ steps: Step[] }> } };
    expect(doc.plan.bootstrap).toBe('subscribed');
    const steps = doc.plan.phases.flatMap((p) => p.steps);
    expect(steps.filter((s) => s.check.predicted).map((s) => s.id)).toEqual(['verify']);
    expect(steps.filter((s) => !s.check.predicted && (s.check.changes ?? []).length > 0)).toEqual([]);
  });

  it('a run that changes nothing compares rows again when either node changed anything since the last full compare', async () => {
    // Any journaled change moves b's journal, even one undone at once.
    const fw = { peer: LAB.outsider.ipv4, ports: [{ port: 5432, purpose: 'postgresql' }] };
    const { journalId } = await agentOk<{ journalId: string }>('b', 'firewall.apply', fw);
    await agentOk('b', 'journal.undo', { id: journalId });
    const again = await setup('a', '--exclude-tables-without-key');
    expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).not.toMatch(/^changed/m);
    expect(again.stdout).toMatch(/verify: 3 tables identical \(rows and checksums\)/);
    expect((await setup('a', '--exclude-tables-without-key')).stdout).toMatch(
      /contents not compared: compared \S+, nothing changed since/,
    );
  });

  it("a slot left on b by a CREATE SUBSCRIPTION cut short (no subscription on a uses it) is dropped, and a's subscription made again", async () => {
    // The state a run killed inside CREATE SUBSCRIPTION leaves: the slot on b is made outside a's transaction.
    await sql(
      'a',
      'alter subscription pgduplex_from_b disable; alter subscription pgduplex_from_b set (slot_name = none); drop subscription pgduplex_from_b;',
    );
    const slot = async () =>
      (
        await sql(
          'b',
          "select count(*) || ':' || coalesce(bool_or(active), false) from pg_replication_slots where slot_name = 'pgduplex_from_b'",
        )
      ).stdout.trim();
    await waitFor('the orphan slot idle on b', slot, (x) => x === '1:false', 30_000);
    const r = await setup('a', '--exclude-tables-without-key');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(
      /note\s+b\s+slot pgduplex_from_b was left by an interrupted run \(no subscription on a uses it\); it is dropped so a's subscription can be created/,
    );
    expect(r.stdout).toMatch(/changed\s+b\s+slot-drop: dropped slot pgduplex_from_b/);
    expect(r.stdout).toMatch(/changed\s+a\s+subscription: create subscription pgduplex_from_b/);
    await sql('b', "insert into jobs (queue, payload) values ('after-orphan', '{}');");
    await waitFor(
      'the row from b on a',
      async () => (await sql('a', "select count(*) from jobs where queue = 'after-orphan'")).stdout.trim(),
      (n) => n === '1',
      60_000,
    );
  });
});
