import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicationSnapshot } from '../../shared/replication.js';
import { agentOk } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { nodeExec, type NodeName } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { nodeSql as sql, trySql } from '../lab/sql.js';
import { undoEverything } from '../lab/undo-all.js';
import { buildFixture, dropFixture } from '../lab/fixture/build.js';

// Setup run from b (b is the source) on the project's FS PBX-like fixture, interrupted by a killed CLI in
// the middle of the initial copy and re-run; then both nodes insert into Laravel's bigserial jobs table
// for 30 s; the keyless legacy_password_resets replicates by REPLICA IDENTITY FULL.
const NOKEY = `insert into legacy_password_resets values ('alpha@example.com', 't0', now()), ('beta@example.com', 't0', now()), ('gamma@example.com', 't0', now());
update legacy_password_resets set token = 't1' where email = 'alpha@example.com';`;
const setupOn = (node: NodeName, ...args: string[]) =>
  nodeExec(node, ['pgduplex', 'setup', ...args], { reject: false, timeoutMs: 900_000 });
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  await pairLabNodes();
  await buildFixture('b', '100MB', { noKeyTable: true });
  await sql('b', NOKEY);
}, 600_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const) await dropFixture(node);
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 300_000);

describe('pgduplex setup from b, interrupted and resumed', () => {
  it('refuses the keyless table until a remedy is chosen, naming the cost of each', async () => {
    const r = await setupOn('b');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('public.legacy_password_resets (1 updates/deletes so far)');
    expect(r.stderr).toContain('--replica-identity-full');
    expect(r.stderr).toContain('--exclude-tables-without-key');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const both = await setupOn('b', '--replica-identity-full', '--exclude-tables-without-key');
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/cannot be used with/);
  });

  it('a CLI killed during the initial copy leaves a pair that a re-run finishes', async () => {
    const run = setupOn('b', '--replica-identity-full');
    await waitFor(
      'the initial copy to start',
      () => trySql('a', `select count(*) from pg_subscription_rel`),
      (n) => Number(n ?? 0) > 0,
      300_000,
    ).catch(async (err: unknown) => {
      await nodeExec('b', ['pkill', '-9', '-f', 'pgduplex.* setup'], { reject: false });
      throw err;
    });
    await nodeExec('b', ['pkill', '-9', '-f', 'pgduplex.* setup']);
    const killed = await run;
    expect(killed.exitCode, log(killed)).not.toBe(0);
    expect(killed.stdout).not.toContain('verify:');

    const again = await setupOn('b', '--replica-identity-full');
    expect(again.exitCode, log(again)).toBe(0);
    expect(again.stdout).toMatch(/ok\s+a\s+bootstrap: already subscribed/);
    expect(again.stdout).toMatch(
      /verify: \d+ tables identical \(rows and checksums\), same schema, \d+ sequences disjoint/,
    );
    expect(await sql('a', 'select count(*) from v_xml_cdr')).toBe(await sql('b', 'select count(*) from v_xml_cdr'));
    const subs = async (node: NodeName) =>
      sql(
        node,
        `select string_agg(s.subname || ':' || s.subenabled || ':' || (w.pid is not null), ',') from pg_subscription s left join pg_stat_subscription w on w.subid = s.oid and w.relid is null`,
      );
    await waitFor(
      'both subscriptions streaming',
      async () => [await subs('a'), await subs('b')],
      ([x, y]) => x === 'pgduplex_from_b:true:true' && y === 'pgduplex_from_a:true:true',
      60_000,
    );
  });

  it('UPDATEs of the keyless table replicate both ways once it has REPLICA IDENTITY FULL', async () => {
    expect(await sql('a', `select relreplident from pg_class where relname = 'legacy_password_resets'`)).toBe('f');
    await sql('a', `update legacy_password_resets set token = 'from-a' where email = 'beta@example.com';`);
    await sql(
      'b',
      `update legacy_password_resets set token = 'from-b' where email = 'gamma@example.com'; delete from legacy_password_resets where email = 'alpha@example.com';`,
    );
    for (const node of ['a', 'b'] as const) {
      await waitFor(
        `legacy_password_resets on ${node}`,
        () =>
          sql(
            node,
            `select string_agg(email || '=' || token, ',' order by email) from legacy_password_resets where email in ('alpha@example.com', 'beta@example.com', 'gamma@example.com')`,
          ),
        (x) => x === 'beta@example.com=from-a,gamma@example.com=from-b',
        30_000,
      );
    }
  });

  it('30 s of concurrent inserts into a bigserial table on both nodes: no collision, no stopped subscription', async () => {
    const insert = (node: NodeName) =>
      `insert into jobs (queue, payload, attempts, available_at, created_at) select 'burst-${node}', '{}', 0, 0, 0 from generate_series(1, 20);`;
    const before = Number(await sql('a', 'select count(*) from jobs'));
    const burst = (node: NodeName) =>
      nodeExec(
        node,
        [
          'bash',
          '-c',
          `end=$((SECONDS+30)); while [ $SECONDS -lt $end ]; do echo "${insert(node)}"; done | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d fusionpbx`,
        ],
        { timeoutMs: 120_000 },
      );
    await Promise.all([burst('a'), burst('b')]);
    const counts = async (node: NodeName) => sql(node, `select count(*) || ':' || count(distinct id) from jobs`);
    const [ca, cb] = await waitFor(
      'both nodes to hold every job',
      async () => [await counts('a'), await counts('b')],
      ([x, y]) => x === y,
      60_000,
    );
    const [total, distinct] = ca!.split(':').map(Number);
    expect(total).toBe(distinct);
    expect(total).toBeGreaterThan(before + 2 * 20);
    expect(cb).toBe(ca);
    // b is the source here: its keys are odd, a's (the bootstrapped target's) even.
    expect(await sql('a', `select count(*) from jobs where queue = 'burst-a' and id % 2 = 1`)).toBe('0');
    expect(await sql('b', `select count(*) from jobs where queue = 'burst-b' and id % 2 = 0`)).toBe('0');
    expect(Number(await sql('a', `select count(*) from jobs where queue = 'burst-a'`))).toBeGreaterThan(0);
    for (const node of ['a', 'b'] as const) {
      const stats = await agentOk<ReplicationSnapshot>(node, 'replication.status');
      expect(stats.subscriptions.map((x) => x.applyErrors + x.syncErrors)).toEqual([0]);
      expect(await sql(node, `select bool_and(subenabled) from pg_subscription`)).toBe('t');
    }
    const v = await nodeExec('a', ['pgduplex', 'verify'], { reject: false, timeoutMs: 300_000 });
    expect(v.exitCode, log(v)).toBe(0);
  });
});
