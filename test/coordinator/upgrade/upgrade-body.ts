// The one pg-upgrade body: each node of a pair on FROM (as FS PBX's installer leaves it, TO installed later by the
// operator) goes to TO while the other takes writes; a first attempt on b fails with its old cluster stopped and the
// pair is as it was, then b's run goes straight through, a's agent is killed mid-upgrade and the re-run converges. No
// row is lost and nothing is copied again. `npm test` runs 17 -> 18 on its own lab, `npm run test:versions` 18 -> 19
// and 17 -> 18 with --recreate-replication too. Each step is plain code; describeUpgrade makes them vitest tests.
import { expect } from 'vitest';
import { waitFor } from '../../lab/http.js';
import { installPgMajor, nodeExec, type NodeName } from '../../lab/index.js';
import type { LabFlavor } from '../../lab/base-flavor.js';
import { buildFixture } from '../../lab/fixture/build.js';
import { pairLabNodes } from '../../lab/pair.js';
import { onBoth, pgduplex } from '../../lab/setup-pair.js';
import { nodeSql as sql } from '../../lab/sql.js';
import { domainWriter } from '../../lab/writer.js';

/** An upgrade the body runs: both nodes boot `flavor` (running `from`) and go to `to`. */
export interface UpgradeCase {
  flavor: LabFlavor;
  from: number;
  to: number;
  /** Run with --recreate-replication: the pair's slot and subscription re-created, not carried by pg_upgrade. */
  recreate?: boolean;
}

/** One step of the body; they run in order, each needing the ones before it. */
export interface UpgradeStep {
  name: string;
  run: () => Promise<void>;
}

const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const major = async (n: NodeName) => Math.floor(Number(await sql(n, 'show server_version_num')) / 10000);
const other = (n: NodeName): NodeName => (n === 'a' ? 'b' : 'a');
const upgradeArgs = (u: UpgradeCase) => [
  'pg-upgrade',
  '--to',
  String(u.to),
  ...(u.recreate ? ['--recreate-replication'] : []),
];

/** Bytes the peer's walsender decoded for `node`'s subscription (its slot on the peer is named after the peer). */
const slotBytes = (peer: NodeName) =>
  sql(peer, `select coalesce(sum(total_bytes), 0) from pg_stat_replication_slots where slot_name like 'pgduplex%'`);
/** The xmin of the rows a node had before a writer's rows: pg_upgrade keeps them; a copy again would not. */
const xmins = (n: NodeName, tag: string) =>
  sql(
    n,
    `select count(*) || ':' || md5(string_agg(xmin::text, ',' order by domain_uuid)) from v_domains
      where domain_name not like '${tag}-%'`,
  );

/**
 * Trixie's 17.12 gives every column an option `pg_attver` that sid's 18.6 (this mirror's newest 18) predates, so
 * pg_upgrade would fail restoring the schema (docs/pg-upgrade-facts.md §4). pg-upgrade must refuse that before it stops
 * anything; then, standing in for a newer postgresql-18 the mirror does not have, the lab clears the option.
 */
async function refusedForPgAttver(node: NodeName, to: number): Promise<void> {
  const marked = Number(
    await sql(node, `select count(*) from pg_attribute where attoptions::text like '%pg_attver=%'`),
  );
  if (marked === 0) return;
  const started = await sql(node, 'select pg_postmaster_start_time()');
  const r = await pgduplex(node, 'pg-upgrade', '--to', String(to), '--yes');
  expect(r.exitCode, log(r)).toBe(1);
  expect(r.stderr).toContain(`pg_attver, which the installed PostgreSQL ${to} does not know`);
  expect(r.stderr).toContain(`install a newer postgresql-${to}`);
  expect(await sql(node, 'select pg_postmaster_start_time()')).toBe(started);
  await sql(node, `update pg_attribute set attoptions = null where attoptions::text like '%pg_attver=%'`, 'fusionpbx');
}

async function upgradeWhileServed(u: UpgradeCase, node: NodeName, interrupt: boolean): Promise<void> {
  const to = String(u.to);
  const peer = other(node);
  await installPgMajor(node, u.to);
  await refusedForPgAttver(node, u.to);
  const tag = `during-${node}`;
  const before = { bytes: Number(await slotBytes(peer)), xmins: await xmins(node, tag) };
  const size = Number(await sql(peer, `select pg_database_size('fusionpbx')`));
  const writer = domainWriter(peer, tag, 200);
  try {
    if (!interrupt) {
      const r = await pgduplex(node, ...upgradeArgs(u), '--yes');
      expect(r.exitCode, log(r)).toBe(0);
      expect(r.stdout).toContain(`upgraded to PostgreSQL ${to}; both directions stream and the pair verifies`);
      if (u.recreate) expect(r.stdout).toMatch(/re-created subscription pgduplex_\S+ with its tables ready/);
    } else {
      const run = pgduplex(node, ...upgradeArgs(u), '--yes');
      await waitFor(
        `the upgrade unit on ${node}`,
        () => nodeExec(node, ['systemctl', 'is-active', 'pgduplex-pg-upgrade.service'], { reject: false }),
        (x) => x.stdout.trim() === 'active',
        300_000,
      );
      await nodeExec(node, ['systemctl', 'kill', '--signal=SIGKILL', '--kill-whom=main', 'pgduplex-agent']);
      const cut = await run;
      expect(cut.exitCode, log(cut)).not.toBe(0);
      await waitFor(
        `${node}'s agent back`,
        () => nodeExec(node, ['pgduplex', 'peers'], { reject: false }),
        (x) => x.exitCode === 0,
        120_000,
      );
      const again = await pgduplex(node, ...upgradeArgs(u), '--yes');
      expect(again.exitCode, log(again)).toBe(0);
    }
  } finally {
    await writer.stop();
  }
  expect(await major(node)).toBe(u.to);
  // Every row the peer took during the upgrade is here, and the rows from before were not copied again.
  const names = writer.written.map((w) => `'${w}'`).join(',');
  await waitFor(
    `${peer}'s ${writer.written.length} rows on ${node}`,
    () => sql(node, `select count(*) from v_domains where domain_name in (${names})`),
    (x) => Number(x) === writer.written.length,
    120_000,
  );
  expect(writer.written.length).toBeGreaterThan(5);
  expect(Number(await slotBytes(peer)) - before.bytes).toBeLessThan(size / 10);
  expect(await xmins(node, tag)).toBe(before.xmins);
  const status = await pgduplex(node, 'status');
  expect(status.exitCode, log(status)).toBe(0);
  if (u.from >= 18) expect(await sql(peer, 'show idle_replication_slot_timeout')).toBe('1d');
  const again = await pgduplex(node, 'pg-upgrade', '--to', to, '--yes');
  expect(again.exitCode, log(again)).toBe(0);
  expect(again.stdout).toContain('nothing to do');
}

const FAULT_HOOK = '/etc/postgresql-common/pg_upgradecluster.d/00-pgdx-lab-fault';

/**
 * A pg_upgradecluster that fails with the old cluster already stopped (a hook of its init phase exits 1, as a broken
 * extension's would): the old cluster serves again, what pgduplex took out and paused is back, a's writes arrive.
 */
async function failedUpgradePutsBack(u: UpgradeCase): Promise<void> {
  const script = `#!/bin/sh\n[ "$4" = init ] || exit 0\necho 'pgduplex lab: a failing upgrade hook' >&2\nexit 1\n`;
  await nodeExec('b', ['sh', '-c', `printf '%s' "$1" > ${FAULT_HOOK} && chmod 755 ${FAULT_HOOK}`, 'sh', script]);
  const writer = domainWriter('a', 'failed-b', 200);
  try {
    const r = await pgduplex('b', ...upgradeArgs(u), '--yes');
    expect(r.exitCode, log(r)).toBe(1);
    expect(r.stderr).toContain(
      `pg_upgradecluster ${u.from}/main -> ${u.to} failed (exit 1); ${u.from}/main runs again`,
    );
    if (u.recreate) expect(r.stdout).toContain('subscription from b resumed');
  } finally {
    await writer.stop();
    await nodeExec('b', ['rm', '-f', FAULT_HOOK]);
  }
  expect(await major('b')).toBe(u.from);
  const clusters = await nodeExec('b', ['pg_lsclusters', '-h']);
  expect(clusters.stdout).not.toMatch(new RegExp(`^${u.to}\\s+main`, 'm'));
  const names = writer.written.map((w) => `'${w}'`).join(',');
  await waitFor(
    `a's ${writer.written.length} rows on b after the failed upgrade`,
    () => sql('b', `select count(*) from v_domains where domain_name in (${names})`),
    (x) => Number(x) === writer.written.length,
    120_000,
  );
  await waitFor(
    'status healthy after the failed upgrade',
    () => pgduplex('b', 'status'),
    (x) => x.exitCode === 0,
    120_000,
  );
  const enabled = await onBoth((n) => sql(n, 'select subenabled::text from pg_subscription'));
  expect(enabled).toEqual(['true', 'true']);
}

/** Pairs the lab's nodes, loads the FS PBX fixture on a and sets up replication from a: where every case starts. */
export async function upgradeStart(u: UpgradeCase): Promise<void> {
  await pairLabNodes();
  await buildFixture('a', '24MB', { noKeyTable: false });
  // From 18 on, the idle slot timeout the serving node must not apply while its peer is down for the upgrade.
  const idle = u.from >= 18 ? ['--idle-slot-timeout', '1d'] : [];
  const r = await pgduplex('a', 'setup', '--yes', ...idle);
  if (r.exitCode !== 0) throw new Error(`setup failed:\n${log(r)}`);
}

/** Why: every upgrade runs exactly these steps, so one major's failure and another's pass compare. */
export function upgradeSteps(u: UpgradeCase): UpgradeStep[] {
  const to = String(u.to);
  return [
    {
      name: 'names the missing packages, and --dry-run prints the plan and changes nothing',
      run: async () => {
        const missing = await pgduplex('b', 'pg-upgrade', '--to', to, '--dry-run');
        expect(missing.exitCode, log(missing)).toBe(1);
        expect(missing.stderr).toContain(`apt-get install postgresql-${to} postgresql-client-${to}`);
        await installPgMajor('b', u.to);
        await refusedForPgAttver('b', u.to);
        const r = await pgduplex('b', ...upgradeArgs(u), '--dry-run');
        expect(r.exitCode, log(r)).toBe(0);
        expect(r.stdout).toContain(`upgrade ${u.from}/main to ${to}/main with pg_upgradecluster (copy`);
        if (u.recreate) {
          expect(r.stdout).toContain("pause a's subscription from b until b's slot is re-created");
          expect(r.stdout).toMatch(/take subscription pgduplex_from_a and slot pgduplex_from_b out of 17\/main/);
        }
        expect(r.stdout).toContain('dry run: nothing was changed');
        expect(await major('b')).toBe(u.from);
      },
    },
    {
      name: 'a pg_upgradecluster failing with the old cluster stopped: it serves again, the pair as it was',
      run: () => failedUpgradePutsBack(u),
    },
    {
      name: 'upgrades b while a takes writes: both directions resume, no row lost, nothing copied again',
      run: async () => {
        await upgradeWhileServed(u, 'b', false);
        const binary = await onBoth((n) => sql(n, 'select subbinary::text from pg_subscription'));
        expect(binary).toEqual(['false', 'false']);
      },
    },
    {
      name: 'upgrades a with its agent killed mid-upgrade; the re-run converges',
      run: async () => {
        await upgradeWhileServed(u, 'a', true);
        const verify = await pgduplex('b', 'verify');
        expect(verify.exitCode, log(verify)).toBe(0);
      },
    },
    {
      name: '--finish removes the old cluster after a backup; teardown then works on the new cluster',
      run: async () => {
        const r = await pgduplex('b', 'pg-upgrade', '--finish', '--yes');
        expect(r.exitCode, log(r)).toBe(0);
        const clusters = await nodeExec('b', ['pg_lsclusters', '-h']);
        expect(clusters.stdout).not.toMatch(new RegExp(`^${u.from}\\s+main`, 'm'));
        expect(clusters.stdout).toMatch(new RegExp(`^${to}\\s+main\\s+5432\\s+online`, 'm'));
        const t = await pgduplex('a', 'teardown', '--yes');
        expect(t.exitCode, log(t)).toBe(0);
        const dropin = await onBoth((n) =>
          nodeExec(n, ['test', '-e', `/etc/postgresql/${to}/main/conf.d/50-pgduplex.conf`], { reject: false }),
        );
        expect(dropin.map((x) => x.exitCode)).toEqual([1, 1]);
      },
    },
  ];
}
