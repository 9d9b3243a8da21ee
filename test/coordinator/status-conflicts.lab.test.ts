import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConflictLines } from '../../agent/postgres/conflict-log.js';
import { waitFor } from '../lab/http.js';
import { labUp, nodeExec, type NodeName } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { debPath } from '../lab/paths.js';
import { pgduplex } from '../lab/setup-pair.js';
import { nodeSql } from '../lab/sql.js';

// PostgreSQL 18's conflict counters turned into facts by `pgduplex status` on an 18↔18 pair: a row updated on
// both nodes while each direction was paused is diverging (exit 3) until verify --repair; a row updated on b and
// later on a counts a conflict too, but the rows are equal and status stays healthy. Boots its own lab, then the
// default one again, as the mixed-version pair does.
const sql = (node: NodeName, text: string) => nodeSql(node, text, 'fusionpbx');
const KEY = '6f1d2c1e-0000-4000-8000-000000000001';
const FIXTURE = `create table v_domains (domain_uuid uuid primary key, domain_name text not null, domain_description text);
insert into v_domains select ('6f1d2c1e-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'd' || g || '.example', null
  from generate_series(1, 5) g;`;
const status = (node: NodeName) => nodeExec(node, ['pgduplex', 'status'], { reject: false, timeoutMs: 180_000 });
const counted = async (node: NodeName) =>
  Number(await sql(node, 'select coalesce(sum(confl_update_origin_differs), 0) from pg_stat_subscription_stats'));
const description = (node: NodeName) =>
  sql(node, `select domain_description from v_domains where domain_uuid = '${KEY}'`);
const out = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  await labUp({ deb: debPath(), versions: { a: 18, b: 18 } });
  await pairLabNodes();
  await sql('a', FIXTURE);
  const r = await pgduplex('a', 'setup');
  if (r.exitCode !== 0) throw new Error(`setup failed: ${out(r)}`);
}, 900_000);

afterAll(async () => {
  await labUp({ deb: debPath() }); // the default 17↔17 lab, for the lab files that run after this one
}, 900_000);

describe('pgduplex status on an 18↔18 pair: conflict counters are compared, not believed', () => {
  it('is healthy after setup and takes its baseline', async () => {
    const r = await waitFor(
      'status on a exits 0',
      () => status('a'),
      (x) => x.exitCode === 0,
      120_000,
    );
    expect(r.stdout).not.toContain('DIVERGING');
  });

  it('a row updated on both nodes while each direction was paused is diverging (exit 3), until repaired', async () => {
    await sql('a', 'alter subscription pgduplex_from_b disable');
    await sql('b', 'alter subscription pgduplex_from_a disable');
    await sql('a', `update v_domains set domain_description = 'edited on a' where domain_uuid = '${KEY}'`);
    await sql('b', `update v_domains set domain_description = 'edited on b' where domain_uuid = '${KEY}'`);
    await sql('a', 'alter subscription pgduplex_from_b enable');
    await sql('b', 'alter subscription pgduplex_from_a enable');
    await waitFor(
      'both nodes count the conflict',
      async () => [await counted('a'), await counted('b')],
      (c) => c.every((n) => n >= 1),
      60_000,
    );
    expect([await description('a'), await description('b')]).toEqual(['edited on b', 'edited on a']);
    const r = await waitFor(
      'status on a exits 3',
      () => status('a'),
      (x) => x.exitCode === 3,
      60_000,
    );
    expect(r.stdout).toContain('DIVERGING');
    expect(r.stdout).toContain(`diverging: public.v_domains key (domain_uuid)=(${KEY})`);
    expect(r.stdout).toMatch(/'s row committed at \d{4}-/);
    expect(r.stdout).toContain('pgduplex verify --table v_domains --repair --keep a');
    expect((await status('b')).exitCode, 'status on b sees it too').toBe(3);
    // The subscriber's real PostgreSQL 18 log lines, as the agent parses them.
    const log = await nodeExec('a', ['bash', '-c', 'grep -h -A4 "conflict detected" /var/log/postgresql/*.log']);
    expect(parseConflictLines(log.stdout)).toContainEqual(
      expect.objectContaining({
        table: 'public.v_domains',
        type: 'update_origin_differs',
        key: `(domain_uuid)=(${KEY})`,
      }),
    );

    const repair = await pgduplex('a', 'verify', '--table', 'v_domains', '--repair', '--keep', 'a', '--yes');
    expect(repair.exitCode, out(repair)).toBe(0);
    expect([await description('a'), await description('b')]).toEqual(['edited on b', 'edited on b']);
    const after = await waitFor(
      'status on a exits 0',
      () => status('a'),
      (x) => x.exitCode === 0,
      60_000,
    );
    expect(after.stdout).not.toContain('DIVERGING');
    expect((await status('b')).exitCode).toBe(0);
  });

  it('the false alarm: the row updated on b, then (after it arrived) on a, counts a conflict but stays healthy', async () => {
    const before = await counted('b');
    await sql('b', `update v_domains set domain_description = 'later on b' where domain_uuid = '${KEY}'`);
    await waitFor(
      'b’s edit arrived on a',
      () => description('a'),
      (d) => d === 'later on b',
      30_000,
    );
    await sql('a', `update v_domains set domain_description = 'later still on a' where domain_uuid = '${KEY}'`);
    await waitFor(
      'the counter rose on b',
      () => counted('b'),
      (n) => n > before,
      60_000,
    );
    const r = await status('a');
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout).not.toContain('DIVERGING');
    expect(r.stdout).toContain('equal on both nodes (the baseline advanced)');
    expect((await status('a')).stdout).not.toContain('equal on both nodes');
  });
});
