import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { LAB, nodeExec, type NodeName } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { onBoth, pgduplex } from '../lab/setup-pair.js';
import { nodeSql as sql, postmasterStart, trySql } from '../lab/sql.js';
import { undoEverything } from '../lab/undo-all.js';
import { buildFixture, dropFixture } from '../lab/fixture/build.js';

// Setup on the real FS PBX schema (the fixture on a: its 189 tables and the bigserial jobs table), on nodes as FS PBX's installer leaves them:
// listen_addresses at Debian's localhost, uuid-ossp in fusionpbx, md5. Regressions of issue 12's defects:
// a re-run took listen_addresses away again, and the import dropped uuid-ossp with schema public.
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const listen = (node: NodeName) => sql(node, `select setting from pg_settings where name = 'listen_addresses'`);
const extensions = (node: NodeName) =>
  sql(
    node,
    `select coalesce(string_agg(extname || ' ' || extversion || ' ' || extnamespace::regnamespace, ',' order by extname), '') from pg_extension`,
  );
const phonebook = (node: NodeName) =>
  sql(node, `select count(*) || ':' || coalesce(sum(slot), 0) from device_phonebook`);

/** A write on each node arrives on the other: a row each in v_domains, waited for on both. */
async function bothWaysReplicate(tag: string): Promise<void> {
  const name = (node: NodeName) => `${tag}-from-${node}.example`;
  for (const node of ['a', 'b'] as const)
    await sql(
      node,
      `insert into v_domains (domain_uuid, domain_name) values (md5('${name(node)}')::uuid, '${name(node)}')`,
    );
  for (const node of ['a', 'b'] as const) {
    await waitFor(
      `both rows of ${tag} on ${node}`,
      () => sql(node, `select count(*) from v_domains where domain_name like '${tag}-from-%'`),
      (n) => n === '2',
      60_000,
    );
  }
}

const before: Partial<Record<NodeName, { extensions: string; listen: string }>> = {};

beforeAll(async () => {
  await pairLabNodes();
  await buildFixture('a', '24MB', { noKeyTable: false });
  // A b whose fusionpbx lacks uuid-ossp: setup must create it there, by b's own statement, before the import.
  await sql('b', 'drop extension "uuid-ossp"');
  for (const node of ['a', 'b'] as const)
    before[node] = { extensions: await extensions(node), listen: await listen(node) };
}, 600_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const) {
    await dropFixture(node);
    await sql(node, 'create extension if not exists "uuid-ossp"');
    await nodeExec(node, ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 600_000);

describe('pgduplex setup on the real FS PBX schema, nodes as FS PBX installs them', () => {
  it("starts from Debian's listen_addresses and a b without uuid-ossp", () => {
    expect(before.a?.listen).toBe('localhost');
    expect(before.b?.listen).toBe('localhost');
    expect(before.a?.extensions).toContain('uuid-ossp');
    expect(before.b?.extensions).not.toContain('uuid-ossp');
  });

  it('creates uuid-ossp on b, imports the schema, copies and verifies', async () => {
    const r = await pgduplex('a', 'setup', '--yes');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toMatch(/changed\s+b\s+extensions: create extension uuid-ossp 1\.1 in schema public/);
    expect(r.stdout).toMatch(/verify: 190 tables identical \(rows and checksums\), same schema/);
    expect(await extensions('b')).toBe(await extensions('a'));
    expect(await listen('a')).toBe(`localhost,${LAB.nodes.a.ipv4}`);
    expect(await listen('b')).toBe(`localhost,${LAB.nodes.b.ipv4}`);
  });

  it('replicates writes both ways, UPDATE and DELETE on the keyless device_phonebook included', async () => {
    await bothWaysReplicate('first');
    await sql(
      'a',
      `update device_phonebook set slot = slot + 10 where device_uuid = (select min(device_uuid::text)::uuid from device_phonebook)`,
    );
    await sql(
      'b',
      `delete from device_phonebook where device_uuid = (select max(device_uuid::text)::uuid from device_phonebook)`,
    );
    // Rows that uuid-ossp's default keys on both nodes.
    await sql(
      'b',
      `insert into failed_jobs (uuid, connection, queue, payload, exception) values ('from-b', 'database', 'default', '{}', 'none')`,
    );
    await waitFor(
      'the same device_phonebook on both',
      () => onBoth(phonebook),
      ([x, y]) => x === y && x !== '',
      60_000,
    );
    await waitFor(
      "b's failed job on a",
      () => sql('a', `select count(*) from failed_jobs where uuid = 'from-b'`),
      (n) => n === '1',
      60_000,
    );
    const v = await pgduplex('a', 'verify');
    expect(v.exitCode, log(v)).toBe(0);
  });

  it('five re-runs in a row change nothing, restart nothing, and both directions still replicate', async () => {
    const startedBefore = await onBoth(postmasterStart);
    const listenBefore = await onBoth(listen);
    for (let i = 1; i <= 5; i++) {
      const r = await pgduplex('a', 'setup', '--yes');
      expect(r.exitCode, `run ${i}: ${log(r)}`).toBe(0);
      expect(r.stdout, `run ${i}`).not.toMatch(/^changed/m);
      expect(r.stdout, `run ${i}`).toContain(
        'nothing to change: the pair was already set up, nothing restarted, no data copied',
      );
      expect(r.stdout, `run ${i}`).not.toMatch(/pg-service: restart/);
      expect(await onBoth(postmasterStart), `run ${i}`).toEqual(startedBefore);
      expect(await onBoth(listen), `run ${i}`).toEqual(listenBefore);
    }
    await bothWaysReplicate('rerun');
  });

  it("a kill -9 of b's agent during the restarts leaves a pair that a re-run finishes and verifies", async () => {
    // Teardown takes the settings back (wal_level replica needs a restart), so the next setup restarts both nodes.
    const down = await pgduplex('a', 'teardown', '--yes');
    expect(down.exitCode, log(down)).toBe(0);
    expect(await onBoth(listen)).toEqual(['localhost', 'localhost']);
    const settingsOnB = async () =>
      (await agentOk<Array<{ action: string; undone: boolean }>>('b', 'journal.list', { pending: true })).filter(
        (e) => e.action === 'pg-settings',
      ).length;
    const run = pgduplex('a', 'setup', '--yes', '--replace-peer-data');
    await waitFor("setup's settings on b", settingsOnB, (n) => n > 0, 300_000);
    await nodeExec('b', ['systemctl', 'kill', '-s', 'KILL', 'pgduplex-agent']);
    const cut = await run;
    expect(cut.stderr).not.toMatch(/\n\s+at /);
    await waitFor(
      "b's agent back",
      () => trySql('b', 'select 1'),
      (x) => x === '1',
      60_000,
    );
    await waitFor(
      "b's agent answering",
      () => nodeExec('b', ['pgduplex', 'health'], { reject: false }),
      (x) => x.exitCode === 0,
      60_000,
    );
    const again = await pgduplex('a', 'setup', '--yes', '--replace-peer-data');
    expect(again.exitCode, log(again)).toBe(0);
    expect(again.stdout).toMatch(/verify: 190 tables/);
    expect(await listen('b')).toBe(`localhost,${LAB.nodes.b.ipv4}`);
    const third = await pgduplex('a', 'setup', '--yes');
    expect(third.stdout, log(third)).not.toMatch(/^changed/m);
    await bothWaysReplicate('after-kill');
  });

  it('teardown restores both nodes, and uuid-ossp stays on b while its imported tables use it', async () => {
    const r = await pgduplex('a', 'teardown', '--yes');
    expect(r.exitCode, log(r)).toBe(0);
    expect(await onBoth(listen)).toEqual(['localhost', 'localhost']);
    expect(await extensions('a')).toBe(before.a?.extensions);
    expect(await extensions('b')).toBe(await extensions('a'));
    expect(await sql('b', `select count(*) from pg_class where relname = 'v_xml_cdr'`)).toBe('1');
  });
});
