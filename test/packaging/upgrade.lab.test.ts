import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentUp } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { installDeb, nodeExec, type NodeName } from '../lab/index.js';
import { labSql, nodeSnapshot, pgStartedAt, type NodeSnapshot } from '../lab/node-snapshot.js';
import { oldReleaseDeb, RELEASE_0_1_0 } from '../lab/old-release.js';
import { pairLabNodes } from '../lab/pair.js';
import { debPath } from '../lab/paths.js';
import { onBoth as both, pgduplex as cli } from '../lab/setup-pair.js';
import { undoEverything } from '../lab/undo-all.js';
import { isKept } from '../../coordinator/teardown/plan.js';
import { VERSION } from '../../shared/version.js';

// A pair set up by pgduplex 0.1.0, upgraded one node at a time while it replicates, then torn down by 0.2.0.
const OLD = RELEASE_0_1_0.version;
const FIXTURE = `create extension if not exists pgcrypto;
create table v_domains (domain_uuid uuid primary key default gen_random_uuid(), domain_name text not null unique);
create table jobs (id bigserial primary key, queue text, payload jsonb);
insert into v_domains (domain_name) select 'tenant' || g || '.example' from generate_series(1, 20) g;
insert into jobs (queue, payload) select 'default', '{}' from generate_series(1, 40);`;

type Entry = { id: string; action: string; undone: boolean };
const sh = async (node: NodeName, script: string) =>
  (await nodeExec(node, ['bash', '-o', 'pipefail', '-c', script])).stdout.trim();
const installed = (node: NodeName) => sh(node, "dpkg-query -W -f '${Version}' pgduplex");
const PID_FILE = '/var/lib/postgresql/17/main/postmaster.pid';
/** PostgreSQL's postmaster: its pid and start time; either changing means PostgreSQL restarted. */
const postmaster = async (node: NodeName) => `${await sh(node, `head -n1 ${PID_FILE}`)}@${await pgStartedAt(node)}`;
/** The agent's config and state (identity, trust store, journal): an upgrade must keep every byte. */
const STATE_FILES = 'find /etc/pgduplex /var/lib/pgduplex -type f -print0 | sort -z | xargs -0 sha256sum';
const kept = (node: NodeName) => sh(node, STATE_FILES);
const journal = (node: NodeName) => agentOk<Entry[]>(node, 'journal.list');
const domains = (node: NodeName, like: string) =>
  labSql(node, `select count(*) from v_domains where domain_name like '${like}'`);
const agentPid = (node: NodeName) => sh(node, 'systemctl show -p MainPID --value pgduplex-agent');
const UPGRADE_HINT = `upgrade the .deb on b (apt install ./pgduplex_${VERSION}_all.deb)`;

/** A row written on each node arrives on the other. */
async function replicatesBothWays(tag: string): Promise<void> {
  await labSql('a', `insert into v_domains (domain_name) values ('${tag}-from-a.example');`);
  await labSql('b', `insert into v_domains (domain_name) values ('${tag}-from-b.example');`);
  for (const node of ['a', 'b'] as const) {
    await waitFor(
      `${tag}: both rows on ${node}`,
      () => domains(node, `${tag}-from-%`),
      (n) => n === '2',
      30_000,
    );
  }
}

/** Both nodes as in the snapshot taken before setup; b keeps the copied tables (and a's sequence increments). */
async function expectAsBefore(snap: { a: NodeSnapshot; b: NodeSnapshot }): Promise<void> {
  const [a, b] = await both(nodeSnapshot);
  expect(a).toEqual(snap.a);
  expect({ ...b, sequences: {} }).toEqual({ ...snap.b, sequences: {} });
}

async function upgrade(node: NodeName): Promise<void> {
  await installDeb(node, debPath());
  await agentUp(node);
  expect(await installed(node)).toBe(VERSION);
}

const before = {} as { a: NodeSnapshot; b: NodeSnapshot };
let oldEntries: Record<NodeName, Entry[]>;
let pgBefore: [string, string];

beforeAll(async () => {
  const old = await oldReleaseDeb();
  // The lab came up with this build installed; start over from 0.1.0 as a fresh install on both nodes.
  for (const node of ['a', 'b'] as const) {
    await nodeExec(node, ['dpkg', '--purge', 'pgduplex'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    await installDeb(node, old);
    await agentUp(node);
  }
  await pairLabNodes();
  await labSql('a', FIXTURE);
  [before.a, before.b] = await both(nodeSnapshot);
}, 900_000);

afterAll(async () => {
  await undoEverything().catch(() => undefined);
  for (const node of ['a', 'b'] as const) {
    await labSql(node, 'drop table if exists jobs, v_domains;').catch(() => undefined);
    await nodeExec(node, ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx'], { reject: false });
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
  // The lab goes on with this build on both nodes: a test after this one must not meet a 0.1.0 agent.
  for (const node of ['a', 'b'] as const) {
    await installDeb(node, debPath());
    await agentUp(node);
  }
}, 600_000);

describe(`upgrading a live pair from pgduplex ${OLD} to ${VERSION}, one node at a time`, () => {
  it(`${OLD} on both nodes sets up replication both ways`, async () => {
    expect(await both(installed)).toEqual([OLD, OLD]);
    const r = await cli('a', 'setup', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    await replicatesBothWays('old');
    oldEntries = { a: await journal('a'), b: await journal('b') };
    expect(oldEntries.a.map((e) => e.action)).toContain('subscription');
    expect(oldEntries.b.map((e) => e.action)).toContain('pg-settings');
    pgBefore = await both(postmaster);
  }, 900_000);

  it('upgrading a alone restarts its agent only: replication runs on, PostgreSQL untouched, state kept', async () => {
    // An operator's edit of the conffile must survive the upgrade (dpkg keeps it; no prompt under dpkg -i).
    await sh('a', `sed -i 's/"logLevel": "info"/"logLevel": "debug"/' /etc/pgduplex/agent.json`);
    await sh('a', 'systemctl restart pgduplex-agent');
    await agentUp('a');
    expect(await sh('a', 'grep -c debug /etc/pgduplex/agent.json')).toBe('1');
    const [stateA, stateB] = await both(kept);
    const pid = await agentPid('a');
    await upgrade('a');
    expect(await installed('b')).toBe(OLD);
    expect(await agentPid('a')).not.toBe(pid);
    expect(await both(postmaster)).toEqual(pgBefore);
    expect(await both(kept)).toEqual([stateA, stateB]);
    await replicatesBothWays('mixed');
    // 0.1.0's entries, as the upgraded agent lists them.
    expect(await journal('a')).toEqual(oldEntries.a);
  }, 600_000);

  it(`status from a (${VERSION}) works in the mixed pair and says what works until b is upgraded`, async () => {
    const r = await cli('a', 'status');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(
      `note: the agents run different pgduplex versions (a ${VERSION}, b ${OLD}): ` +
        'replication keeps running, status and teardown work; ' +
        `setup refuses until both run ${VERSION}: ${UPGRADE_HINT}`,
    );
    expect(r.stdout).toContain('Both directions replicate.');
    const json = JSON.parse((await cli('a', 'status', '--json')).stdout) as { versionNote: string | null };
    const agents = [
      { node: 'a', version: VERSION },
      { node: 'b', version: OLD },
    ];
    expect(json).toMatchObject({ verdict: 'healthy', agents });
    expect(json.versionNote).toContain('different pgduplex versions');
  });

  it(`status from b (${OLD}'s CLI, which predates the note) still works against the upgraded peer`, async () => {
    const r = await cli('b', 'status');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('Both directions replicate.');
  });

  it('setup refuses the mixed pair from either node, naming both versions and what to do', async () => {
    const fromA = await cli('a', 'setup', '--yes');
    expect(fromA.exitCode).toBe(1);
    const refusal = `setup needs both agents on one pgduplex release: a runs ${VERSION}, b runs ${OLD}`;
    expect(fromA.stderr).toContain(`pgduplex: ${refusal}\n`);
    expect(fromA.stderr).toContain(`nothing was changed; ${UPGRADE_HINT}, then run setup again.`);
    expect(fromA.stderr).not.toContain('finished steps are found done');
    const fromB = await cli('b', 'setup', '--yes');
    expect(fromB.exitCode).toBe(1);
    expect(fromB.stderr).toContain(`the agent on a is version ${VERSION}, this pgduplex is ${OLD}`);
    expect({ a: await journal('a'), b: await journal('b') }).toEqual(oldEntries);
    expect(await both(postmaster)).toEqual(pgBefore);
  });

  it('teardown --dry-run plans the whole teardown in the mixed pair, from either node, changing nothing', async () => {
    const fromA = await cli('a', 'teardown', '--dry-run');
    expect(fromA.exitCode, `${fromA.stdout}\n${fromA.stderr}`).toBe(0);
    expect(fromA.stdout).toMatch(/note\s+a\s+the agents run different pgduplex versions/);
    expect(fromA.stdout).toMatch(/would\s+a\s+revert subscription: create subscription pgduplex_from_b/);
    expect(fromA.stdout).toMatch(/would\s+b\s+revert firewall: allow tcp\/5432/);
    const fromB = await cli('b', 'teardown', '--dry-run');
    expect(fromB.exitCode, `${fromB.stdout}\n${fromB.stderr}`).toBe(0);
    expect(fromB.stdout).toMatch(/would\s+a\s+revert pg-settings/);
    expect({ a: await journal('a'), b: await journal('b') }).toEqual(oldEntries);
  });

  it('upgrading b too: replication still runs, PostgreSQL untouched, status healthy with no version note', async () => {
    await upgrade('b');
    expect(await both(postmaster)).toEqual(pgBefore);
    await replicatesBothWays('new');
    for (const node of ['a', 'b'] as const) {
      const r = await cli(node, 'status');
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('Both directions replicate.');
      expect(r.stdout).not.toContain('different pgduplex versions');
    }
    const json = JSON.parse((await cli('b', 'status', '--json')).stdout) as unknown;
    expect(json).toMatchObject({ verdict: 'healthy', versionNote: null });
  }, 600_000);

  it(`teardown by ${VERSION} undoes everything ${OLD}'s setup journaled and puts both nodes back`, async () => {
    const r = await cli('a', 'teardown', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/teardown complete: \d+ changes reverted \(a: \d+, b: \d+\); table data left in place/);
    for (const node of ['a', 'b'] as const) {
      const now = new Map((await journal(node)).map((e) => [e.id, e]));
      const undone = (e: Entry) => now.get(e.id)?.undone === true;
      const left = oldEntries[node].filter((e) => !isKept(e.action) && !undone(e));
      expect(left, `${node}: entries of ${OLD} not undone`).toEqual([]);
    }
    await expectAsBefore(before);
  }, 900_000);
});

describe(`a real teardown in a mixed pair: ${OLD} on both nodes again, setup, then b alone upgraded`, () => {
  const again = {} as { a: NodeSnapshot; b: NodeSnapshot };

  beforeAll(async () => {
    for (const node of ['a', 'b'] as const) await labSql(node, 'drop table if exists jobs, v_domains;');
    // dpkg -i of the older package: a downgrade that keeps the pairing, state and journal.
    for (const node of ['a', 'b'] as const) {
      await installDeb(node, await oldReleaseDeb());
      await agentUp(node);
    }
    await labSql('a', FIXTURE);
    [again.a, again.b] = await both(nodeSnapshot);
  }, 600_000);

  it(`${OLD} sets up again; with only b upgraded, teardown from b undoes ${OLD}'s entries on both`, async () => {
    expect(await both(installed)).toEqual([OLD, OLD]);
    const r = await cli('a', 'setup', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    await replicatesBothWays('second');
    const pg = await both(postmaster);
    await upgrade('b');
    expect(await both(postmaster)).toEqual(pg);
    await replicatesBothWays('second-mixed');
    const status = await cli('b', 'status');
    expect(status.exitCode, `${status.stdout}\n${status.stderr}`).toBe(0);
    expect(status.stdout).toContain(`(b ${VERSION}, a ${OLD})`);
    expect(status.stdout).toContain(`upgrade the .deb on a (apt install ./pgduplex_${VERSION}_all.deb)`);
    const down = await cli('b', 'teardown', '--yes');
    expect(down.exitCode, `${down.stdout}\n${down.stderr}`).toBe(0);
    expect(down.stdout).toMatch(/note\s+b\s+the agents run different pgduplex versions/);
    expect(down.stdout).toMatch(/teardown complete: \d+ changes reverted \(b: \d+, a: \d+\); table data left in place/);
    await expectAsBefore(again);
  }, 900_000);
});
