import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../coordinator/status/verdict.js';
import { healthReportSchema } from '../../shared/health.js';
import { nodeHttp, nodeSocketHttp, waitFor } from '../lab/http.js';
import { nodeExec, type NodeName } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { pendingJournalCounts, undoEverything } from '../lab/undo-all.js';

// `pgduplex status`, /health's replication section and /metrics on a pair set up by `pgduplex setup`.
const AGENT = 'http://127.0.0.1:7740';
const sql = (node: NodeName, text: string) =>
  nodeExec(
    node,
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', 'fusionpbx', '-f', '-'],
    { input: text },
  );
const status = (node: NodeName, ...args: string[]) =>
  nodeExec(node, ['pgduplex', 'status', ...args], { reject: false, timeoutMs: 120_000 });
const report = async (node: NodeName) => {
  const r = await status(node, '--json');
  return { code: r.exitCode, report: JSON.parse(r.stdout) as StatusReport };
};
const exitCode = (node: NodeName, code: number, timeoutMs = 60_000) =>
  waitFor(
    `status on ${node} exits ${code}`,
    () => status(node),
    (r) => r.exitCode === code,
    timeoutMs,
  );
// The full /health and /metrics are the socket's (and monitoringHosts'); TCP gives others a verdict only.
const metrics = async () => (await nodeSocketHttp('a', '/metrics')).body;
const lagAtoB = async () =>
  Number(
    /^pgduplex_replication_lag_bytes\{slot="pgduplex_from_a",from="a",to="b"\} (\d+)$/m.exec(await metrics())?.[1] ??
      NaN,
  );
const FIXTURE = `create table st_jobs (id bigserial primary key, queue text);
create table st_domains (domain_uuid uuid primary key default gen_random_uuid(), name text not null);
insert into st_jobs (queue) select 'q' from generate_series(1, 20);
insert into st_domains (name) select 'd' || g from generate_series(1, 5) g;`;

let before: Record<NodeName, number>;

beforeAll(async () => {
  before = await pendingJournalCounts();
  await pairLabNodes();
  await sql('a', FIXTURE);
  const r = await nodeExec('a', ['pgduplex', 'setup'], { reject: false, timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`setup failed: ${r.stdout}\n${r.stderr}`);
}, 700_000);

afterAll(async () => {
  await nodeExec('b', ['systemctl', 'start', 'postgresql@17-main', 'pgduplex-agent'], { reject: false });
  await waitFor(
    'b agent answers',
    () => nodeExec('b', ['pgduplex', 'whoami'], { reject: false }),
    (r) => r.exitCode === 0,
    60_000,
  );
  await undoEverything();
  for (const node of ['a', 'b'] as const)
    await sql(
      node,
      `drop table if exists st_jobs, st_domains; select pg_replication_origin_drop(roname) from pg_replication_origin where roname = 'pgduplex_local';`,
    );
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
  expect(await pendingJournalCounts()).toEqual(before);
}, 300_000);

describe('pgduplex status on the lab pair', () => {
  it('after setup calls both directions healthy from a and from b (exit 0), and --json carries the same facts', async () => {
    for (const node of ['a', 'b'] as const) {
      const r = await exitCode(node, 0);
      expect(r.stdout).toContain(`pgduplex status on ${node} (database fusionpbx): healthy`);
      expect(r.stdout).toMatch(/a → b {2}healthy/);
      expect(r.stdout).toMatch(/b → a {2}healthy/);
      expect(r.stdout).toContain('subscription pgduplex_from_a on b: enabled, streaming; tables: 2 ready');
      const { code, report: j } = await report(node);
      expect(code).toBe(0);
      expect(j).toMatchObject({ verdict: 'healthy', node, peer: { reachable: true } });
      expect(j.directions.map((d) => `${d.from}→${d.to}:${d.subscription}`).sort()).toEqual([
        'a→b:pgduplex_from_a',
        'b→a:pgduplex_from_b',
      ]);
      for (const d of j.directions) {
        expect(d.subscriber).toMatchObject({
          enabled: true,
          streaming: true,
          tables: { r: 2 },
          applyErrors: 0,
          syncErrors: 0,
        });
        expect(d.publisher).toMatchObject({
          slotActive: true,
          walStatus: 'reserved',
          maxSlotWalKeepSizeBytes: 10 * 1024 ** 3,
        });
      }
    }
  });

  it("says degraded while b's PostgreSQL is stopped, naming the direction and the WAL a holds for b; healthy again once it runs", async () => {
    await nodeExec('b', ['systemctl', 'stop', 'postgresql@17-main']);
    try {
      await sql('a', `insert into st_jobs (queue) select 'while b is down' from generate_series(1, 500);`);
      const r = await exitCode('a', 3);
      expect(r.stdout).toContain('(database fusionpbx): DEGRADED');
      expect(r.stdout).toMatch(/a → b {2}DEGRADED/);
      expect(r.stdout).toMatch(
        /b is not receiving a's changes: a holds [\d.]+ (B|KiB|MiB) of WAL for it .*; [\d.]+ GiB more WAL may be written before max_slot_wal_keep_size \(10\.0 GiB\) gives the slot up/,
      );
      expect(r.stdout).toContain('b: PostgreSQL does not answer');
      const { report: j } = await report('a');
      const ab = j.directions.find((d) => d.from === 'a');
      expect(ab?.publisher).toMatchObject({ slotActive: false });
      expect(ab?.publisher?.retainedBytes).toBeGreaterThan(0);
    } finally {
      await nodeExec('b', ['systemctl', 'start', 'postgresql@17-main']);
    }
    await exitCode('a', 0, 120_000);
  });

  it('says broken after a key conflict, naming table and key; the printed remedy brings it back to healthy', async () => {
    await sql('b', 'alter subscription pgduplex_from_a disable;');
    await sql('a', `insert into st_jobs (id, queue) values (1000, 'from a');`);
    await sql('b', `insert into st_jobs (id, queue) values (1000, 'from b');`);
    await sql('b', 'alter subscription pgduplex_from_a enable;');
    const { report: j } = await waitFor(
      'broken both ways',
      () => report('a'),
      (x) => x.report.directions.every((d) => d.verdict === 'broken'),
      30_000,
    );
    expect(j.verdict).toBe('broken');
    const human = await status('a');
    expect(human.exitCode).toBe(4);
    for (const d of j.directions) {
      expect(d.problems.map((p) => p.text).join('\n')).toContain('[table public.st_jobs, key (id)=(1000)]');
      expect(d.remedies[0]).toMatchObject({
        node: d.to,
        command: expect.stringMatching(
          new RegExp(`ALTER SUBSCRIPTION \\\\"${d.subscription}\\\\" SKIP \\(lsn = '[0-9A-F]+/[0-9A-F]+'\\)`),
        ),
      });
      expect(human.stdout).toContain(`${d.to}# ${d.remedies[0]?.command}`);
    }
    for (const d of j.directions)
      await nodeExec(d.remedies[0]?.node as NodeName, ['bash', '-c', d.remedies[0]?.command ?? 'false']);
    await exitCode('a', 0);
    await sql('a', `insert into st_domains (name) values ('after the skip');`);
    await waitFor(
      'replication flows again',
      () => sql('b', `select count(*) from st_domains where name = 'after the skip'`),
      (x) => x.stdout.trim() === '1',
      30_000,
    );
  });

  it("the other remedy lets a's row win on b without sending b's delete to a; skipping b's insert on a then leaves both nodes equal", async () => {
    await sql('a', 'alter subscription pgduplex_from_b disable;');
    await sql('b', 'alter subscription pgduplex_from_a disable;');
    await sql('a', `insert into st_jobs (id, queue) values (1002, 'a wins');`);
    await sql('b', `insert into st_jobs (id, queue) values (1002, 'b loses');`);
    await sql('b', 'alter subscription pgduplex_from_a enable;');
    const ab = (
      await waitFor(
        'a → b broken',
        () => report('a'),
        (x) => x.report.directions.find((d) => d.from === 'a')?.verdict === 'broken',
        30_000,
      )
    ).report.directions.find((d) => d.from === 'a');
    expect(ab?.remedies[1]?.effect).toContain(
      'b deletes its own row (id)=(1002) in public.st_jobs without sending the delete to a',
    );
    await nodeExec('b', ['bash', '-c', ab?.remedies[1]?.command ?? 'false']);
    await waitFor(
      "a's row on b",
      () => sql('b', 'select queue from st_jobs where id = 1002'),
      (x) => x.stdout.trim() === 'a wins',
      30_000,
    );
    await sql('a', 'alter subscription pgduplex_from_b enable;');
    const ba = (
      await waitFor(
        'b → a broken',
        () => report('a'),
        (x) => x.report.directions.find((d) => d.from === 'b')?.verdict === 'broken',
        30_000,
      )
    ).report.directions.find((d) => d.from === 'b');
    await nodeExec('a', ['bash', '-c', ba?.remedies[0]?.command ?? 'false']);
    await exitCode('a', 0);
    expect((await sql('a', 'select queue from st_jobs where id = 1002')).stdout.trim()).toBe('a wins');
    await sql('a', `delete from st_jobs where id = 1000;`);
    await waitFor(
      'row 1000 gone on b',
      () => sql('b', 'select count(*) from st_jobs where id = 1000'),
      (x) => x.stdout.trim() === '0',
      30_000,
    );
    const verify = await nodeExec('a', ['pgduplex', 'verify'], { reject: false, timeoutMs: 120_000 });
    expect(verify.exitCode, verify.stdout).toBe(0);
  });

  it('/metrics passes promtool; the a→b lag gauge rises while b does not apply and falls after; /health/ready?max_lag_bytes fails meanwhile', async () => {
    const text = await metrics();
    execFileSync('promtool', ['check', 'metrics'], { input: text });
    expect(text).toMatch(/^pgduplex_agent_info\{version="[^"]+",node="a"\} 1$/m);
    expect(text).toMatch(/^pgduplex_action_last_success\{action="replication.status"\} 1$/m);
    expect(await lagAtoB()).toBeLessThan(100_000);
    await sql('b', 'alter subscription pgduplex_from_a disable;');
    try {
      await sql('a', `insert into st_jobs (queue) select repeat('x', 200) from generate_series(1, 2000);`);
      await waitFor('lag gauge rises', lagAtoB, (n) => n > 100_000);
      const ready = await nodeSocketHttp('a', '/health/ready?max_lag_bytes=1');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).reason).toMatch(
        /b has not confirmed \d+ bytes of this node's changes \(slot pgduplex_from_a; limit 1\)/,
      );
      expect((await nodeSocketHttp('a', '/health/ready?max_lag_bytes=1000000000')).status).toBe(200);
    } finally {
      await sql('b', 'alter subscription pgduplex_from_a enable;');
    }
    await waitFor('lag gauge falls', lagAtoB, (n) => n < 100_000, 60_000);
    execFileSync('promtool', ['check', 'metrics'], { input: await metrics() });
  });

  it('/health/ready refuses bad lag values with 400 and a clear message', async () => {
    for (const q of ['max_lag_bytes=abc', 'max_lag_bytes=-1', 'max_lag_bytes=', 'max_lag=1']) {
      const r = await nodeHttp('a', `${AGENT}/health/ready?${q}`);
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.body).error).toMatchObject({
        code: 'BAD_PARAMS',
        message: expect.stringMatching(/max_lag_bytes must be one whole number|unknown parameter/),
      });
    }
  });

  it('/health has the replication section and neither it nor /metrics holds the subscription conninfo', async () => {
    const body = (await nodeSocketHttp('a', '/health')).body;
    const h = healthReportSchema.parse(JSON.parse(body));
    expect(h.replication?.subscriptions).toEqual([
      expect.objectContaining({ name: 'pgduplex_from_b', from: 'b', enabled: true, streaming: true }),
    ]);
    expect(h.replication?.slots).toEqual([
      expect.objectContaining({ name: 'pgduplex_from_a', to: 'b', active: true, walStatus: 'reserved' }),
    ]);
    const conninfo = (
      await sql('a', `select subconninfo from pg_subscription where subname = 'pgduplex_from_b'`)
    ).stdout.trim();
    expect(conninfo).toContain('passfile=');
    for (const text of [body, await metrics()]) {
      expect(text).not.toContain(conninfo);
      expect(text).not.toContain('passfile=');
    }
  });

  it("reports a's side and says the peer is unreachable (degraded) while b's agent is stopped", async () => {
    await nodeExec('b', ['systemctl', 'stop', 'pgduplex-agent']);
    try {
      const r = await exitCode('a', 3);
      expect(r.stdout).toMatch(/peer b: agent unreachable .*; only a's side is known/);
      expect(r.stdout).toContain('subscription pgduplex_from_b on a: enabled, streaming');
    } finally {
      await nodeExec('b', ['systemctl', 'start', 'pgduplex-agent']);
    }
    await exitCode('a', 0);
  });

  it('--watch refreshes until interrupted', async () => {
    const r = await nodeExec('a', ['timeout', '-s', 'INT', '6', 'pgduplex', 'status', '--watch', '--interval', '1'], {
      reject: false,
      timeoutMs: 60_000,
    });
    expect(r.stdout.match(/^pgduplex status on a/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });
});
