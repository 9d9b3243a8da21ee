import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/http.js';
import { installPgMajor, labUp, nodeExec, type NodeName } from '../../lab/index.js';
import { buildFixture } from '../../lab/fixture/build.js';
import { pairLabNodes } from '../../lab/pair.js';
import { debPath } from '../../lab/paths.js';
import { onBoth, pgduplex } from '../../lab/setup-pair.js';
import { nodeSql as sql } from '../../lab/sql.js';
import { domainWriter } from '../../lab/writer.js';

// `pgduplex pg-upgrade`: each node of a 17↔17 pair (as FS PBX's installer leaves it, 18 installed later by the
// operator) goes to 18 while the other takes writes; b's run goes straight through, a's agent is killed mid-upgrade
// and the re-run converges. No row is lost and nothing is copied again. Boots its own lab, then the default one.
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const major = async (n: NodeName) => Math.floor(Number(await sql(n, 'show server_version_num')) / 10000);
const other = (n: NodeName): NodeName => (n === 'a' ? 'b' : 'a');

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
async function refusedForPgAttver(node: NodeName): Promise<void> {
  const marked = Number(
    await sql(node, `select count(*) from pg_attribute where attoptions::text like '%pg_attver=%'`),
  );
  if (marked === 0) return;
  const started = await sql(node, 'select pg_postmaster_start_time()');
  const r = await pgduplex(node, 'pg-upgrade', '--to', '18', '--yes');
  expect(r.exitCode, log(r)).toBe(1);
  expect(r.stderr).toContain('pg_attver, which the installed PostgreSQL 18 does not know');
  expect(r.stderr).toContain('install a newer postgresql-18');
  expect(await sql(node, 'select pg_postmaster_start_time()')).toBe(started);
  await sql(node, `update pg_attribute set attoptions = null where attoptions::text like '%pg_attver=%'`, 'fusionpbx');
}

beforeAll(async () => {
  await labUp({ deb: debPath(), versions: { a: '17+', b: '17+' } });
  await pairLabNodes();
  await buildFixture('a', '24MB', { noKeyTable: false });
  const r = await pgduplex('a', 'setup', '--yes');
  if (r.exitCode !== 0) throw new Error(`setup failed:\n${log(r)}`);
}, 1_200_000);

afterAll(async () => {
  // PGDX_UPGRADE_KEEP=1 (with PGDX_LAB_KEEP=1) leaves the upgraded lab up to look at.
  if (process.env['PGDX_UPGRADE_KEEP'] !== '1') await labUp({ deb: debPath() });
}, 900_000);

async function upgradeWhileServed(node: NodeName, interrupt: boolean): Promise<void> {
  const peer = other(node);
  await installPgMajor(node, 18);
  await refusedForPgAttver(node);
  const tag = `during-${node}`;
  const before = { bytes: Number(await slotBytes(peer)), xmins: await xmins(node, tag) };
  const size = Number(await sql(peer, `select pg_database_size('fusionpbx')`));
  const writer = domainWriter(peer, tag, 200);
  try {
    if (!interrupt) {
      const r = await pgduplex(node, 'pg-upgrade', '--to', '18', '--yes');
      expect(r.exitCode, log(r)).toBe(0);
      expect(r.stdout).toContain('upgraded to PostgreSQL 18; both directions stream and the pair verifies');
    } else {
      const run = pgduplex(node, 'pg-upgrade', '--to', '18', '--yes');
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
      const again = await pgduplex(node, 'pg-upgrade', '--to', '18', '--yes');
      expect(again.exitCode, log(again)).toBe(0);
    }
  } finally {
    await writer.stop();
  }
  expect(await major(node)).toBe(18);
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
  const again = await pgduplex(node, 'pg-upgrade', '--to', '18', '--yes');
  expect(again.exitCode, log(again)).toBe(0);
  expect(again.stdout).toContain('nothing to do');
}

describe('pgduplex pg-upgrade --to 18 on a 17↔17 pair, the other node taking writes', () => {
  it('names the missing packages, and --dry-run prints the plan and changes nothing', async () => {
    const missing = await pgduplex('b', 'pg-upgrade', '--to', '18', '--dry-run');
    expect(missing.exitCode, log(missing)).toBe(1);
    expect(missing.stderr).toContain('apt-get install postgresql-18 postgresql-client-18');
    await installPgMajor('b', 18);
    await refusedForPgAttver('b');
    const r = await pgduplex('b', 'pg-upgrade', '--to', '18', '--dry-run');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toMatch(/upgrade 17\/main to 18\/main with pg_upgradecluster \(copy/);
    expect(r.stdout).toContain('dry run: nothing was changed');
    expect(await major('b')).toBe(17);
  });

  it('upgrades b while a takes writes: both directions resume, no row lost, nothing copied again', async () => {
    await upgradeWhileServed('b', false);
    const binary = await onBoth((n) => sql(n, 'select subbinary::text from pg_subscription'));
    expect(binary).toEqual(['false', 'false']);
  });

  it('upgrades a with its agent killed mid-upgrade; the re-run converges', async () => {
    await upgradeWhileServed('a', true);
    const verify = await pgduplex('b', 'verify');
    expect(verify.exitCode, log(verify)).toBe(0);
  });

  it('--finish removes the old cluster after a backup; teardown then works on the new cluster', async () => {
    const r = await pgduplex('b', 'pg-upgrade', '--finish', '--yes');
    expect(r.exitCode, log(r)).toBe(0);
    const clusters = await nodeExec('b', ['pg_lsclusters', '-h']);
    expect(clusters.stdout).not.toMatch(/^17\s+main/m);
    expect(clusters.stdout).toMatch(/^18\s+main\s+5432\s+online/m);
    const t = await pgduplex('a', 'teardown', '--yes');
    expect(t.exitCode, log(t)).toBe(0);
    const dropin = await onBoth((n) =>
      nodeExec(n, ['test', '-e', '/etc/postgresql/18/main/conf.d/50-pgduplex.conf'], { reject: false }),
    );
    expect(dropin.map((x) => x.exitCode)).toEqual([1, 1]);
  });
});
