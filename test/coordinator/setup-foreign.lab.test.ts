import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { LAB, labSecret, nodeExec, type NodeName } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { makeScriptPair, removeScriptPair, SCRIPT_NAMES } from '../lab/script-pair.js';
import { onBoth, pgduplex } from '../lab/setup-pair.js';
import { nodeSql as sql, postmasterStart } from '../lab/sql.js';
import { pendingJournalCounts, undoEverything } from '../lab/undo-all.js';

// A pair FS PBX's setup_logical_replication.sh set up (built by test/lab/script-pair.ts on the real schema with
// data): `pgduplex setup` must notice the script's replication, name every object of it and change nothing.
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const A = LAB.nodes.a.ipv4;
const B = LAB.nodes.b.ipv4;
const count = (node: NodeName, table: string) => sql(node, `select count(*) from ${table}`);

/** What would tell that setup changed something: pgduplex's objects, settings, restarts, the script's state. */
const nodeState = (node: NodeName) =>
  sql(
    node,
    `select concat_ws(' | ',
       (select count(*) from pg_publication where pubname = 'pgduplex_pub'),
       (select count(*) from pg_roles where rolname = 'pgduplex_repl'),
       (select string_agg(subname || ':' || subenabled, ',' order by subname) from pg_subscription),
       (select string_agg(pubname, ',' order by pubname) from pg_publication),
       (select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots),
       current_setting('listen_addresses'), current_setting('wal_level'), pg_postmaster_start_time())`,
  );
const firewall = (node: NodeName) => nodeExec(node, ['iptables-save', '-t', 'filter']).then((r) => r.stdout);
const hba = (node: NodeName) => nodeExec(node, ['cat', `/etc/postgresql/${LAB.pgVersion}/main/pg_hba.conf`]);

let journalsBefore: Record<NodeName, number>;
const before: Partial<Record<NodeName, { state: string; hba: string; firewall: string }>> = {};
const snapshot = async (node: NodeName) => ({
  state: await nodeState(node),
  hba: (await hba(node)).stdout,
  firewall: (await firewall(node)).replace(/\[\d+:\d+\]/g, '').replace(/^#.*$/gm, ''),
});

beforeAll(async () => {
  journalsBefore = await pendingJournalCounts();
  await pairLabNodes();
  await makeScriptPair('24MB');
}, 900_000);

afterAll(async () => {
  await removeScriptPair();
  const now = await pendingJournalCounts();
  if (now.a !== journalsBefore.a || now.b !== journalsBefore.b) await undoEverything();
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 600_000);

describe('pgduplex setup on a pair FS PBX script set up', () => {
  it("is the script's state: its settings, hba block, 5432 rule, publications and subscriptions", async () => {
    for (const node of ['a', 'b'] as const) {
      const peer = node === 'a' ? B : A;
      expect(await sql(node, 'show wal_level')).toBe('logical');
      expect(await sql(node, 'show listen_addresses')).toBe('*');
      expect(await sql(node, 'show max_replication_slots')).toBe('48');
      expect((await hba(node)).stdout).toContain(
        `# >>> fspbx logical replication (${peer}) >>>\n# Logical replication peer access\n` +
          `host    replication     fusionpbx     ${peer}/32       md5\n`,
      );
      expect(await firewall(node)).toContain(`-A INPUT -s ${peer}/32 -p tcp -m tcp --dport 5432 -j ACCEPT`);
      expect(await sql(node, 'select pubname from pg_publication')).toBe(SCRIPT_NAMES.publication[node]);
      const sub = await sql(node, 'select subname, subconninfo from pg_subscription');
      expect(sub).toContain(SCRIPT_NAMES.subscription[node]);
      expect(sub).toContain(`password=${labSecret()}`);
    }
    expect(await count('b', 'v_xml_cdr')).toBe(await count('a', 'v_xml_cdr'));
    expect(Number(await count('b', 'v_domains'))).toBeGreaterThan(0);
  });

  it('replicates both ways: a write on each node arrives on the other', async () => {
    for (const node of ['a', 'b'] as const) {
      const name = `script-from-${node}.example`;
      await sql(node, `insert into v_domains (domain_uuid, domain_name) values (md5('${name}')::uuid, '${name}')`);
    }
    for (const node of ['a', 'b'] as const)
      await waitFor(
        `both script rows on ${node}`,
        () => sql(node, `select count(*) from v_domains where domain_name like 'script-from-%'`),
        (n) => n === '2',
        60_000,
      );
    for (const node of ['a', 'b'] as const) before[node] = await snapshot(node);
  });

  it('setup refuses, naming each object of the script on each node, and changes nothing', async () => {
    const r = await pgduplex('a', 'setup', '--yes');
    expect(r.exitCode, log(r)).toBe(1);
    const err = r.stderr;
    expect(err).toMatch(/fusionpbx is already replicated by something other than pgduplex/);
    const onA = err.slice(err.indexOf('on a: '), err.indexOf('; on b: '));
    const onB = err.slice(err.indexOf('; on b: '));
    expect(onA).toContain('publication fspbx_publication_a (FOR ALL TABLES)');
    expect(onA).toContain(
      `subscription fspbx_subscription_b_to_a (enabled, publication fspbx_publication_b, connecting host=${B} ` +
        'user=fusionpbx)',
    );
    expect(onA).toContain('logical replication slot fspbx_subscription_a_to_b (active)');
    expect(onA).toContain(`pg_hba.conf block "# >>> fspbx logical replication (${B}) >>>"`);
    expect(onA).toContain(`iptables INPUT rule`);
    expect(onA).toContain(`-A INPUT -s ${B}/32 -p tcp -m tcp --dport 5432 -j ACCEPT`);
    expect(onB).toContain('publication fspbx_publication_b (FOR ALL TABLES)');
    expect(onB).toContain(`subscription fspbx_subscription_a_to_b (enabled, publication fspbx_publication_a`);
    expect(onB).toContain('logical replication slot fspbx_subscription_b_to_a (active)');
    expect(onB).toContain(`pg_hba.conf block "# >>> fspbx logical replication (${A}) >>>"`);
    expect(onB).toContain(`-A INPUT -s ${A}/32 -p tcp -m tcp --dport 5432 -j ACCEPT`);
    expect(err).toContain('pgduplex will not stack its own replication on these');
    expect(err).toContain('pgduplex setup --adopt');
    expect(log(r)).not.toContain(labSecret());
    expect(await pendingJournalCounts()).toEqual(journalsBefore);
    for (const node of ['a', 'b'] as const) expect(await snapshot(node), node).toEqual(before[node]);
  });

  it('--dry-run shows the same refusal and changes nothing', async () => {
    const r = await pgduplex('a', 'setup', '--dry-run');
    expect(r.exitCode, log(r)).toBe(1);
    expect(r.stderr).toContain('fspbx_subscription_b_to_a');
    expect(r.stderr).toContain('fspbx_publication_b');
    expect(r.stderr).not.toContain(labSecret());
    expect(await pendingJournalCounts()).toEqual(journalsBefore);
    for (const node of ['a', 'b'] as const) expect(await snapshot(node), node).toEqual(before[node]);
  });

  it('replication.foreign answers from both nodes without the password, and the pair still replicates', async () => {
    const answer = await agentOk<{ subscriptions: Array<{ name: string; host: string | null }> }>(
      'a',
      'replication.foreign',
      { database: 'fusionpbx', peer: B, port: 5432 },
    );
    expect(answer.subscriptions.map((s) => [s.name, s.host])).toEqual([['fspbx_subscription_b_to_a', B]]);
    expect(JSON.stringify(answer)).not.toContain(labSecret());
    expect(await onBoth(postmasterStart)).toEqual([
      before.a?.state.split(' | ').at(-1),
      before.b?.state.split(' | ').at(-1),
    ]);
    await sql(
      'b',
      `insert into v_domains (domain_uuid, domain_name) values (md5('after')::uuid, 'after-refusal.example')`,
    );
    await waitFor(
      'the row written on b after the refusal on a',
      () => sql('a', `select count(*) from v_domains where domain_name = 'after-refusal.example'`),
      (n) => n === '1',
      60_000,
    );
  });

  it('removeScriptPair puts both nodes back as provisioned (and a second run changes nothing)', async () => {
    for (let i = 0; i < 2; i++) await removeScriptPair();
    for (const node of ['a', 'b'] as const) {
      const peer = node === 'a' ? B : A;
      expect(await sql(node, 'show wal_level'), node).toBe('replica');
      expect(await sql(node, 'show listen_addresses'), node).toBe('localhost');
      expect((await hba(node)).stdout, node).not.toContain('fspbx logical replication');
      expect(await firewall(node), node).not.toContain(`-A INPUT -s ${peer}/32 -p tcp -m tcp --dport 5432`);
      const left = `select (select count(*) from pg_publication) + (select count(*) from pg_subscription)
        + (select count(*) from pg_replication_slots) + (select count(*) from pg_tables where schemaname = 'public')`;
      expect(await sql(node, left), node).toBe('0');
      expect(await sql(node, `select count(*) from pg_extension where extname = 'uuid-ossp'`), node).toBe('1');
      expect(await sql(node, `select nspowner::regrole from pg_namespace where nspname = 'public'`)).toBe(
        'pg_database_owner',
      );
    }
  });
});
