import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../lab/http.js';
import { LAB, nodeExec, type NodeName } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { domainWriter } from '../lab/writer.js';
import { makeScriptPair, removeScriptPair } from '../lab/script-pair.js';
import { agentUp } from '../lab/agent-rpc.js';
import { pgduplex } from '../lab/setup-pair.js';
import { killMainPid } from '../faults/faults.js';
import { SetupRun } from '../faults/setup-run.js';
import { nodeSql as sql } from '../lab/sql.js';
import { pendingJournalCounts, undoEverything } from '../lab/undo-all.js';

// `pgduplex setup --adopt` on a pair FS PBX's setup_logical_replication.sh set up (test/lab/script-pair.ts, the real
// schema with data), while both nodes take writes throughout: the handover loses no row, applies none twice and
// copies nothing again.
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

/** Bytes a node has sent on its network interfaces (lo left out). */
async function txBytes(node: NodeName): Promise<number> {
  const dev = (await nodeExec(node, ['cat', '/proc/net/dev'])).stdout;
  return dev
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/[:\s]+/))
    .filter((f) => f.length > 10 && f[0] !== 'lo')
    .reduce((n, f) => n + Number(f[9]), 0);
}

const scriptObjects = (node: NodeName) =>
  sql(
    node,
    `select concat_ws(' | ',
       (select string_agg(pubname, ',') from pg_publication where pubname like 'fspbx%'),
       (select string_agg(subname, ',') from pg_subscription where subname like 'fspbx%'),
       (select string_agg(slot_name, ',') from pg_replication_slots where slot_name not like 'pgduplex%'))`,
  );

let journalsBefore: Record<NodeName, number>;

beforeAll(async () => {
  journalsBefore = await pendingJournalCounts();
  await pairLabNodes();
  await makeScriptPair('24MB');
}, 900_000);

afterAll(async () => {
  await Promise.all([agentUp('a'), agentUp('b')]);
  const now = await pendingJournalCounts();
  if (now.a !== journalsBefore.a || now.b !== journalsBefore.b) await undoEverything();
  await removeScriptPair();
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 900_000);

describe('pgduplex setup --adopt on a pair FS PBX script set up, both nodes taking writes', () => {
  it('plans the handover in a dry run and changes nothing', async () => {
    const before = await Promise.all([scriptObjects('a'), scriptObjects('b')]);
    const r = await pgduplex('a', 'setup', '--adopt', '--dry-run');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toContain('slot-copy');
    expect(r.stdout).toContain('subscription-adopt');
    expect(r.stdout).toContain('foreign-drop');
    expect(r.stdout).toMatch(/tables identical on both nodes/);
    expect(await Promise.all([scriptObjects('a'), scriptObjects('b')])).toEqual(before);
    expect(await sql('a', "select count(*) from pg_subscription where subname like 'pgduplex%'")).toBe('0');
  });

  it('hands over with no row lost or applied twice, and nothing copied again', async () => {
    const size = Number(await sql('a', `select pg_database_size('${LAB.database}')`));
    const writers = [domainWriter('a', 'adopt'), domainWriter('b', 'adopt')];
    await sleep(1000);
    const sent = await txBytes('a');
    const r = await pgduplex('a', 'setup', '--adopt', '--yes');
    const sentDuring = (await txBytes('a')) - sent;
    await sleep(1000);
    await Promise.all(writers.map((w) => w.stop()));
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toContain('both databases agree');
    expect(sentDuring, `a sent ${sentDuring} bytes; the database is ${size}`).toBeLessThan(size / 4);

    for (const node of ['a', 'b'] as const) {
      expect(await scriptObjects(node)).toBe('');
      expect(await sql(node, "select count(*) from pg_subscription where subconninfo ~* 'password'")).toBe('0');
      expect(
        await sql(node, "select count(*) from pg_subscription where subname like 'pgduplex%' and subenabled"),
      ).toBe('1');
    }
    const written = writers.flatMap((w) => w.written);
    expect(written.length).toBeGreaterThan(20);
    const list = written.map((n) => `'${n}'`).join(',');
    for (const node of ['a', 'b'] as const)
      await waitFor(
        `every row written during the handover on ${node}, once`,
        () => sql(node, `select count(*), count(distinct domain_name) from v_domains where domain_name in (${list})`),
        (v) => v === `${written.length}|${written.length}`,
        60_000,
      );
  });

  it('replicates both ways through pgduplex alone: verify passes, status is healthy', async () => {
    for (const node of ['a', 'b'] as const) {
      const name = `after-adopt-${node}.example`;
      await sql(node, `insert into v_domains (domain_uuid, domain_name) values (md5('${name}')::uuid, '${name}')`);
    }
    for (const node of ['a', 'b'] as const)
      await waitFor(
        `both rows after the handover on ${node}`,
        () => sql(node, "select count(*) from v_domains where domain_name like 'after-adopt-%'"),
        (n) => n === '2',
        60_000,
      );
    const v = await pgduplex('a', 'verify');
    expect(v.exitCode, log(v)).toBe(0);
    const s = await pgduplex('b', 'status');
    expect(s.exitCode, log(s)).toBe(0);
  });

  it('a re-run changes nothing, with --adopt or without', async () => {
    for (const args of [['--adopt', '--yes'], ['--yes']]) {
      const r = await pgduplex('b', 'setup', ...args);
      expect(r.exitCode, log(r)).toBe(0);
      expect(r.stdout).toContain('nothing to change: the pair was already set up');
    }
  });

  it("teardown removes pgduplex's replication and says it does not restore the script's", async () => {
    const r = await pgduplex('a', 'teardown', '--yes');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toContain("does not restore the script's");
    for (const node of ['a', 'b'] as const) {
      expect(await scriptObjects(node)).toBe('');
      expect(await sql(node, 'select count(*) from pg_subscription')).toBe('0');
      expect(await sql(node, 'select count(*) from pg_replication_slots')).toBe('0');
    }
  });
});

/** Lines after which an agent is killed, and which: each one where the next step runs on that agent. */
const KILLS: ReadonlyArray<{ after: string; kill: NodeName }> = [
  { after: ' b +publication: ', kill: 'a' },
  { after: 'slot-copy: copy replication slot fspbx_subscription_a_to_b', kill: 'b' },
  { after: 'slot-copy: copy replication slot fspbx_subscription_b_to_a', kill: 'a' },
  { after: "foreign-drop: drop the script's subscription", kill: 'b' },
  { after: 'changed +a +foreign-access: ', kill: 'b' },
];

describe('a handover cut short by kill -9 of an agent', () => {
  beforeAll(async () => {
    await removeScriptPair();
    await makeScriptPair('24MB');
  }, 900_000);

  it('converges on each re-run, both nodes taking writes, nothing lost or applied twice', async () => {
    const writers = [domainWriter('a', 'kill'), domainWriter('b', 'kill')];
    const runs: string[] = [];
    // Each run is killed at the first line of those left that it prints; a step an earlier run finished prints no
    // such line again, so the next run waits for any of the later ones.
    let left = [...KILLS];
    while (left.length > 0) {
      const run = await SetupRun.start('a', ['--adopt', '--yes']);
      const hit = await run.waitForLine(left.map((k) => `(${k.after})`).join('|'), 600_000);
      const printed = hit ? await run.stdout() : '';
      const at = left.findIndex((k) => new RegExp(k.after).test(printed));
      if (at >= 0) await killMainPid(left[at]!.kill, 'pgduplex-agent');
      const end = await run.end(5 * 60_000);
      expect(end, `the CLI did not end after the kill at /${left[at]?.after}/`).toBeDefined();
      expect(end!.stderr).not.toMatch(/\n\s+at /);
      runs.push(at >= 0 ? `killed ${left[at]!.kill} after /${left[at]!.after}/: exit ${end!.exitCode}` : 'no kill');
      await Promise.all([agentUp('a'), agentUp('b')]);
      left = at >= 0 ? left.slice(at + 1) : [];
    }
    const last = await pgduplex('a', 'setup', '--adopt', '--yes');
    await sleep(1000);
    await Promise.all(writers.map((w) => w.stop()));
    expect(last.exitCode, `${runs.join('\n')}\n${log(last)}`).toBe(0);
    expect(runs.filter((r) => r.startsWith('killed')).length, runs.join('\n')).toBeGreaterThanOrEqual(3);
    for (const node of ['a', 'b'] as const) expect(await scriptObjects(node)).toBe('');
    const written = writers.flatMap((w) => w.written);
    const list = written.map((n) => `'${n}'`).join(',');
    for (const node of ['a', 'b'] as const)
      await waitFor(
        `every row written across the cut-short runs on ${node}, once`,
        () => sql(node, `select count(*), count(distinct domain_name) from v_domains where domain_name in (${list})`),
        (v) => v === `${written.length}|${written.length}`,
        60_000,
      );
    const v = await pgduplex('b', 'verify');
    expect(v.exitCode, log(v)).toBe(0);
  }, 1_800_000);
});
