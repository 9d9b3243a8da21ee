import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { waitFor } from '../../lab/http.js';
import { LAB, nodeExec, type NodeName } from '../../lab/index.js';

// One direction of the pair, b -> a, set up with the agent's actions on real PostgreSQL 17; the
// publisher's wal_level, listen_addresses, role and pg_hba line are prepared by hand here (other actions own those).
const A = LAB.nodes.a.ipv4;
const B = LAB.nodes.b.ipv4;
const PASSWORD = randomBytes(24).toString('base64url');
const sql = (node: NodeName, text: string, db = 'fusionpbx') =>
  nodeExec(
    node,
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', '-'],
    { input: text },
  );
const HBA = `hostssl fusionpbx pgdx_sub_t ${A}/32 scram-sha-256`;
const undo: Array<[NodeName, string]> = [];
const sub = {
  database: 'fusionpbx',
  name: 'pgdx_sub_t',
  publication: 'pgdx_pub_sub_t',
  peer: { host: B, port: 5432, database: 'fusionpbx', user: 'pgdx_sub_t' },
  options: { copyData: true },
};
const record = (node: NodeName, r: { journalId?: string }) => r.journalId && undo.push([node, r.journalId]);

beforeAll(async () => {
  await sql('b', `alter system set wal_level = logical; alter system set listen_addresses = 'localhost,${B}';`);
  await nodeExec('b', ['systemctl', 'restart', 'postgresql@17-main']);
  await sql(
    'b',
    `create role pgdx_sub_t login replication password '${PASSWORD}';
    create table sub_t (id int primary key, v text); insert into sub_t select g, 'row ' || g from generate_series(1, 500) g;
    grant select on sub_t to pgdx_sub_t;`,
  );
  await nodeExec('b', ['bash', '-c', `echo '${HBA}' >> /etc/postgresql/17/main/pg_hba.conf`]);
  await sql('b', 'select pg_reload_conf();');
  await sql('a', 'create table sub_t (id int primary key, v text);');
  record('b', await agentOk('b', 'firewall.apply', { peer: A, ports: [{ port: 5432, purpose: 'postgresql' }] }));
  record(
    'b',
    await agentOk('b', 'publication.apply', {
      database: 'fusionpbx',
      name: 'pgdx_pub_sub_t',
      tables: { list: [{ schema: 'public', name: 'sub_t' }] },
    }),
  );
  record(
    'a',
    await agentOk('a', 'pg-passfile.apply', {
      host: B,
      port: 5432,
      database: 'fusionpbx',
      user: 'pgdx_sub_t',
      password: PASSWORD,
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const [node, id] of undo.reverse()) await agentRpc(node, 'journal.undo', { id });
  await sql('a', 'drop table if exists sub_t;');
  await sql(
    'b',
    'drop table if exists sub_t; drop role if exists pgdx_sub_t; alter system reset wal_level; alter system reset listen_addresses;',
  );
  await nodeExec('b', ['sed', '-i', `\\#${HBA}#d`, '/etc/postgresql/17/main/pg_hba.conf']);
  await nodeExec('b', ['systemctl', 'restart', 'postgresql@17-main']);
}, 120_000);

describe('subscription action (a subscribes to b, real logical replication)', () => {
  it('creates the subscription, copies the table and then streams new rows', async () => {
    expect((await agentOk<{ changes: string[] }>('a', 'subscription.check', sub)).changes[0]).toContain(
      'create subscription pgdx_sub_t in fusionpbx to publication pgdx_pub_sub_t',
    );
    const r = await agentOk<{ journalId: string }>('a', 'subscription.apply', sub);
    record('a', r);
    await waitFor(
      'initial copy',
      () =>
        agentOk<Array<{ name: string; tables: Record<string, number> }>>('a', 'subscription.status', {
          database: 'fusionpbx',
        }),
      (st) => st[0]?.tables['r'] === 1,
      60_000,
    );
    expect((await sql('a', 'select count(*) from sub_t')).stdout.trim()).toBe('500');
    await sql('b', `insert into sub_t values (501, 'after setup');`);
    await waitFor(
      'streamed row',
      () => sql('a', 'select count(*) from sub_t where id = 501'),
      (x) => x.stdout.trim() === '1',
      30_000,
    );
    expect((await agentOk<{ changes: string[] }>('a', 'subscription.check', sub)).changes).toEqual([]);
    const onB = await agentOk<{
      slots: Array<{ name: string; active: boolean; retainedBytes: number; walStatus: string }>;
      senders: Array<{ application: string }>;
    }>('b', 'replication.status');
    expect(onB.slots).toEqual([expect.objectContaining({ name: 'pgdx_sub_t', active: true, walStatus: 'reserved' })]);
    expect(onB.senders.map((x) => x.application)).toContain('pgdx_sub_t');
    const onA = await agentOk<{ subscriptions: Array<{ name: string; applyErrors: number }> }>(
      'a',
      'replication.status',
    );
    expect(onA.subscriptions).toEqual([expect.objectContaining({ name: 'pgdx_sub_t', applyErrors: 0 })]);
  });

  it('reads back every option it set, including the PG16/17 ones', async () => {
    const row = (
      await sql(
        'a',
        `select suborigin || ',' || subpasswordrequired || ',' || subrunasowner || ',' || subfailover || ',' || substream::text from pg_subscription where subname = 'pgdx_sub_t'`,
      )
    ).stdout.trim();
    expect(row).toBe('none,true,false,false,p');
    expect(
      await agentRpc('a', 'subscription.apply', { ...sub, options: { ...sub.options, failover: true } }),
    ).toMatchObject({ ok: false, error: { code: 'REFUSED', message: expect.stringContaining('failover') } });
  });

  it('keeps the password out of subconninfo, the journal and the agent log', async () => {
    const conninfo = (
      await sql('a', `select subconninfo from pg_subscription where subname = 'pgdx_sub_t'`)
    ).stdout.trim();
    expect(conninfo).toContain('passfile=/etc/postgresql/17/main/pgduplex.pgpass');
    expect(conninfo, "a cut-off peer is noticed by keepalives, not after the kernel's 2 h").toContain(
      'keepalives_idle=10',
    );
    expect(conninfo).not.toContain(PASSWORD);
    const journal = (await nodeExec('a', ['cat', '/var/lib/pgduplex/journal.jsonl'])).stdout;
    const log = (await nodeExec('a', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat'])).stdout;
    expect(journal).not.toContain(PASSWORD);
    expect(log).not.toContain(PASSWORD);
    expect(
      (await nodeExec('a', ['stat', '-c', '%a %U', '/etc/postgresql/17/main/pgduplex.pgpass'])).stdout.trim(),
    ).toBe('600 postgres');
  });

  it('subscription-drop removes it and its slot; undo re-creates it without copying, and rows flow again', async () => {
    const dropped = await agentOk<{ journalId: string }>('a', 'subscription-drop.apply', {
      database: 'fusionpbx',
      name: 'pgdx_sub_t',
    });
    expect(
      (await sql('b', `select count(*) from pg_replication_slots where slot_name = 'pgdx_sub_t'`)).stdout.trim(),
    ).toBe('0');
    expect(
      (
        await agentOk<{ changes: string[] }>('a', 'subscription-drop.check', {
          database: 'fusionpbx',
          name: 'pgdx_sub_t',
        })
      ).changes,
    ).toEqual([]);
    const back = await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: dropped.journalId });
    expect(back.undone[0]).toContain('without copying data');
    await sql('b', `insert into sub_t values (502, 'after undo');`);
    await waitFor(
      'row after re-creation',
      () => sql('a', 'select count(*) from sub_t where id = 502'),
      (x) => x.stdout.trim() === '1',
      30_000,
    );
    expect((await sql('a', 'select count(*) from sub_t')).stdout.trim()).toBe('502');
  });

  it('slot-drop refuses an active slot and drops an abandoned one only with the WAL it releases confirmed', async () => {
    expect(
      await agentRpc('b', 'slot-drop.apply', { slot: 'pgdx_sub_t', confirmRetainedBytesAtLeast: 0 }),
    ).toMatchObject({ ok: false, error: { code: 'BUSY' } });
    await sql('b', `select pg_create_logical_replication_slot('pgdx_dead_slot', 'pgoutput');`);
    const check = await agentOk<{ changes: string[] }>('b', 'slot-drop.check', {
      slot: 'pgdx_dead_slot',
      confirmRetainedBytesAtLeast: 0,
    });
    expect(check.changes[0]).toMatch(/^dropped slot pgdx_dead_slot \(\d+ bytes of WAL released\)$/);
    expect(
      await agentRpc('b', 'slot-drop.apply', { slot: 'pgdx_dead_slot', confirmRetainedBytesAtLeast: 10 ** 12 }),
    ).toMatchObject({ ok: false, error: { code: 'REFUSED' } });
    const r = await agentOk<{ journalId: string }>('b', 'slot-drop.apply', {
      slot: 'pgdx_dead_slot',
      confirmRetainedBytesAtLeast: 0,
    });
    expect(
      (await sql('b', `select count(*) from pg_replication_slots where slot_name = 'pgdx_dead_slot'`)).stdout.trim(),
    ).toBe('0');
    expect((await agentOk<{ undone: string[] }>('b', 'journal.undo', { id: r.journalId })).undone[0]).toContain(
      'cannot be restored',
    );
  });

  it('undo drops the subscription and its slot on the publisher', async () => {
    const [, id] = undo.pop()!;
    expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id })).undone[0]).toContain(
      'dropped subscription pgdx_sub_t',
    );
    expect((await sql('a', `select count(*) from pg_subscription where subname = 'pgdx_sub_t'`)).stdout.trim()).toBe(
      '0',
    );
    expect(
      (await sql('b', `select count(*) from pg_replication_slots where slot_name = 'pgdx_sub_t'`)).stdout.trim(),
    ).toBe('0');
  });
});
