import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicationSnapshot } from '../../shared/replication.js';
import { agentOk } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { nodeExec, type NodeName } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { nodeSql as sql, trySql } from '../lab/sql.js';
import { undoEverything } from '../lab/undo-all.js';

// Setup run from b (b is the source), interrupted by a killed CLI in the middle of the initial copy and
// re-run; then both nodes insert into a bigserial table for 30 s; a keyless table replicates by FULL identity.
const FIXTURE = `create table rs_calls (call_uuid uuid primary key default gen_random_uuid(), domain text, payload text);
create table rs_jobs (id bigserial primary key, node text, at timestamptz default now());
create table rs_nokey (name text, hits int);
insert into rs_calls (domain, payload) select 'tenant' || (g % 40), repeat(md5(g::text), 12) from generate_series(1, 250000) g;
insert into rs_jobs (node) select 'seed' from generate_series(1, 1000);
insert into rs_nokey values ('alpha', 0), ('beta', 0), ('gamma', 0);
update rs_nokey set hits = 1 where name = 'alpha';`;
const TABLES = 'rs_calls, rs_jobs, rs_nokey';
const setupOn = (node: NodeName, ...args: string[]) => nodeExec(node, ['pgduplex', 'setup', ...args], { reject: false, timeoutMs: 900_000 });
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  await pairLabNodes();
  await sql('b', FIXTURE);
}, 300_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const) await sql(node, `drop table if exists ${TABLES};`);
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 300_000);

describe('pgduplex setup from b, interrupted and resumed', () => {
  it('refuses the keyless table until a remedy is chosen, naming the cost of each', async () => {
    const r = await setupOn('b');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('public.rs_nokey (1 updates/deletes so far)');
    expect(r.stderr).toContain('--replica-identity-full');
    expect(r.stderr).toContain('--exclude-tables-without-key');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const both = await setupOn('b', '--replica-identity-full', '--exclude-tables-without-key');
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/cannot be used with/);
  });

  it('a CLI killed during the initial copy leaves a pair that a re-run finishes', async () => {
    const run = setupOn('b', '--replica-identity-full');
    await waitFor('the initial copy to start', () => trySql('a', `select count(*) from pg_subscription_rel`), (n) => Number(n ?? 0) > 0, 300_000).catch(async (err: unknown) => {
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
    expect(again.stdout).toMatch(/verify: 3 tables identical \(rows and checksums\), same schema, \d+ sequences disjoint/);
    expect(await sql('a', 'select count(*) from rs_calls')).toBe('250000');
    const subs = async (node: NodeName) => sql(node, `select string_agg(s.subname || ':' || s.subenabled || ':' || (w.pid is not null), ',') from pg_subscription s left join pg_stat_subscription w on w.subid = s.oid and w.relid is null`);
    await waitFor('both subscriptions streaming', async () => [await subs('a'), await subs('b')], ([x, y]) => x === 'pgduplex_from_b:true:true' && y === 'pgduplex_from_a:true:true', 60_000);
  });

  it('UPDATEs of the keyless table replicate both ways once it has REPLICA IDENTITY FULL', async () => {
    expect(await sql('a', `select relreplident from pg_class where relname = 'rs_nokey'`)).toBe('f');
    await sql('a', `update rs_nokey set hits = hits + 10 where name = 'beta';`);
    await sql('b', `update rs_nokey set hits = hits + 100 where name = 'gamma'; delete from rs_nokey where name = 'alpha';`);
    for (const node of ['a', 'b'] as const) {
      await waitFor(`rs_nokey on ${node}`, () => sql(node, `select string_agg(name || '=' || hits, ',' order by name) from rs_nokey`), (x) => x === 'beta=10,gamma=100', 30_000);
    }
  });

  it('30 s of concurrent inserts into a bigserial table on both nodes: no collision, no stopped subscription', async () => {
    const burst = (node: NodeName) => nodeExec(node, ['bash', '-c', `end=$((SECONDS+30)); n=0; while [ $SECONDS -lt $end ]; do echo "insert into rs_jobs (node) select '${node}' from generate_series(1, 20);"; n=$((n+1)); done | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d fusionpbx`], { timeoutMs: 120_000 });
    await Promise.all([burst('a'), burst('b')]);
    const counts = async (node: NodeName) => sql(node, `select count(*) || ':' || count(distinct id) from rs_jobs`);
    const [ca, cb] = await waitFor('both nodes to hold every job', async () => [await counts('a'), await counts('b')], ([x, y]) => x === y, 60_000);
    const [total, distinct] = ca!.split(':').map(Number);
    expect(total).toBe(distinct);
    expect(total).toBeGreaterThan(1000 + 2 * 20);
    expect(cb).toBe(ca);
    // b is the source here: its keys are odd, a's (the bootstrapped target's) even.
    expect(await sql('a', `select count(*) from rs_jobs where node = 'a' and id % 2 = 1`)).toBe('0');
    expect(await sql('b', `select count(*) from rs_jobs where node = 'b' and id % 2 = 0`)).toBe('0');
    for (const node of ['a', 'b'] as const) {
      const stats = await agentOk<ReplicationSnapshot>(node, 'replication.status');
      expect(stats.subscriptions.map((x) => x.applyErrors + x.syncErrors)).toEqual([0]);
      expect(await sql(node, `select bool_and(subenabled) from pg_subscription`)).toBe('t');
    }
    const v = await nodeExec('a', ['pgduplex', 'verify'], { reject: false, timeoutMs: 300_000 });
    expect(v.exitCode, log(v)).toBe(0);
  });
});
