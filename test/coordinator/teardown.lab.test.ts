import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeName } from '../lab/index.js';
import { labSql, nodeSnapshot, pgStartedAt, type NodeSnapshot } from '../lab/node-snapshot.js';
import { cleanUpLabPair, onBoth as both, pgduplex as cli, setUpLabPair } from '../lab/setup-pair.js';

// `pgduplex setup` then `pgduplex teardown` from a, both nodes judged against what they were before setup.
const FIXTURE = `create extension if not exists pgcrypto;
create table v_domains (domain_uuid uuid primary key default gen_random_uuid(), domain_name text not null unique);
create table jobs (id bigserial primary key, queue text, payload jsonb);
insert into v_domains (domain_name) select 'tenant' || g || '.example' from generate_series(1, 20) g;
insert into jobs (queue, payload) select 'default', '{}' from generate_series(1, 40);`;

const rows = (node: NodeName) =>
  labSql(node, "select (select count(*) from v_domains) || '/' || (select count(*) from jobs)");

let before: { a: NodeSnapshot; b: NodeSnapshot };
let afterSetup: NodeSnapshot[];

/** Both nodes as before setup; b holds the tables setup copied (data stays), with a's sequence increments. */
async function expectAsBeforeSetup(): Promise<void> {
  const [a, b] = await both(nodeSnapshot);
  expect(a).toEqual(before.a);
  expect({ ...b, sequences: {} }).toEqual({ ...before.b, sequences: {} });
  expect(b.sequences).toEqual(before.a.sequences);
}

beforeAll(async () => {
  before = await setUpLabPair(FIXTURE);
  afterSetup = await both(nodeSnapshot);
}, 900_000);

afterAll(() => cleanUpLabPair(['jobs', 'v_domains']), 600_000);

describe('pgduplex teardown (from a, after setup)', () => {
  it('setup changed what teardown must restore (else the comparisons below prove nothing)', () => {
    expect(afterSetup[0]?.catalogs).toContain('subscriptions: pgduplex_from_b');
    expect(afterSetup[1]?.files).not.toEqual(before.b.files);
    expect(afterSetup[0]?.iptables).not.toEqual(before.a.iptables);
    expect(afterSetup[1]?.sequences).toEqual({ 'public.jobs_id_seq': 2 });
  });

  it('--dry-run prints the plan for both nodes and changes nothing', async () => {
    const r = await cli('a', 'teardown', '--dry-run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would\s+a\s+revert subscription: create subscription pgduplex_from_b/);
    expect(r.stdout).toMatch(/would\s+b\s+revert firewall: allow tcp\/5432/);
    expect(r.stdout).toMatch(/would\s+b\s+pg-service: restart PostgreSQL if a reverted setting needs it/);
    expect(r.stdout).not.toContain('schema-import');
    expect(r.stdout).toContain('dry run: nothing was changed');
    expect(await both(nodeSnapshot)).toEqual(afterSetup);
  });

  it("from b plans only what b may undo: what a's own run made on a is left to a teardown run on a", async () => {
    const r = await cli('b', 'teardown', '--dry-run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { steps: Array<{ node: string; what: string }>; remaining: string[] };
    expect(plan.steps.filter((s) => s.node === 'a' && s.what.startsWith('revert'))).toEqual([]);
    expect(plan.steps.some((s) => s.node === 'b' && s.what.startsWith('revert firewall'))).toBe(true);
    // Each of a's changes (setup journaled 8 there), named, none planned.
    expect(plan.remaining).toHaveLength(8);
    for (const line of plan.remaining) expect(line).toMatch(/^a: [a-z-]+ \(.+\), made by a's own run: teardown on a$/);
    expect(plan.remaining.some((l) => l.startsWith('a: subscription ('))).toBe(true);
    expect(await both(nodeSnapshot)).toEqual(afterSetup);
  });

  it('refuses without --yes when there is no terminal to ask on, in one line, changing nothing', async () => {
    const r = await cli('a', 'teardown');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('needs confirmation and there is no terminal');
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await both(nodeSnapshot)).toEqual(afterSetup);
  });

  it('puts both nodes back as they were before setup, keeps the rows on both, restarts both for wal_level', async () => {
    const started = await both(pgStartedAt);
    const r = await cli('a', 'teardown', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/teardown complete: \d+ changes reverted \(a: \d+, b: \d+\); table data left in place/);
    await expectAsBeforeSetup();
    expect(await both(rows)).toEqual(['20/40', '20/40']);
    const now = await both(pgStartedAt);
    expect(now[0]).not.toBe(started[0]);
    expect(now[1]).not.toBe(started[1]);
  });

  it('a second teardown has nothing to do, exits 0 and restarts nothing', async () => {
    const started = await both(pgStartedAt);
    const r = await cli('b', 'teardown', '--yes');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to do: no pgduplex replication left on b or a');
    const json = await cli('a', 'teardown', '--json', '--yes');
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'nothing to do', remaining: [] });
    expect(await both(pgStartedAt)).toEqual(started);
  });
});
