import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { nodeExec, type NodeName } from '../../lab/index.js';
import { pairLabNodes } from '../../lab/pair.js';

// b imports a's schema over the paired channel (streamed, applied by psql in one transaction).
const sql = (node: NodeName, text: string) =>
  nodeExec(
    node,
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', 'fusionpbx', '-f', '-'],
    { input: text },
  );
const tablesOn = async (node: NodeName) =>
  (
    await sql(node, `select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'`)
  ).stdout.trim();
const undo: string[] = [];

beforeAll(async () => {
  await pairLabNodes();
  await sql(
    'a',
    `create table si_domains (domain_uuid uuid primary key, name text not null unique);
    create table si_users (id bigserial primary key, domain_uuid uuid references si_domains, settings jsonb default '{}');
    create index si_users_domain on si_users (domain_uuid);
    insert into si_domains values ('00000000-0000-0000-0000-000000000001', 'example');`,
  );
}, 60_000);

afterAll(async () => {
  for (const id of undo.reverse()) await agentRpc('b', 'journal.undo', { id });
  await sql('a', 'drop table if exists si_users, si_domains;');
  await sql('b', 'drop table if exists si_users, si_domains, si_local;');
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
  await nodeExec('b', ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
}, 60_000);

describe('schema-import from the peer (b imports a)', () => {
  it("imports a's schema into b's empty schema: tables, keys, indexes, no rows", async () => {
    expect(await tablesOn('b')).toBe('');
    expect(
      (await agentOk<{ changes: string[] }>('b', 'schema-import.check', { database: 'fusionpbx' })).changes,
    ).toEqual(["import a's schema public into the empty schema public of fusionpbx"]);
    const r = await agentOk<{ journalId: string; changes: string[] }>('b', 'schema-import.apply', {
      database: 'fusionpbx',
    });
    undo.push(r.journalId);
    expect(await tablesOn('b')).toBe('si_domains,si_users');
    expect((await sql('b', `select count(*) from pg_indexes where indexname = 'si_users_domain'`)).stdout.trim()).toBe(
      '1',
    );
    expect((await sql('b', 'select count(*) from si_domains')).stdout.trim()).toBe('0');
  });

  it('refuses to replace a schema that holds tables unless told how many and shown a recent backup', async () => {
    await sql('b', `create table si_local (id int primary key); insert into si_local values (1);`);
    const refused = await agentRpc('b', 'schema-import.apply', { database: 'fusionpbx' });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'REFUSED', message: expect.stringContaining('holds 3 tables; importing would destroy them') },
    });
    const noBackup = await agentRpc('b', 'schema-import.apply', {
      database: 'fusionpbx',
      replace: { tables: 3, backupId: '20260101T000000Z-fusionpbx' },
    });
    expect(noBackup.ok).toBe(false);
    expect(await tablesOn('b')).toBe('si_domains,si_local,si_users');
    // The check plans as apply does: it refuses the same way.
    expect(await agentRpc('b', 'schema-import.check', { database: 'fusionpbx' })).toMatchObject({
      ok: false,
      error: { code: 'REFUSED', message: expect.stringContaining('holds 3 tables; importing would destroy them') },
    });
  });

  it('replaces it after a backup, and undo restores the replaced tables with their rows', async () => {
    const backup = await agentOk<{ journalId: string; notes: string[] }>('b', 'backup.apply', {
      database: 'fusionpbx',
    });
    const backupId = /backup id (\S+) in/.exec(backup.notes[0] ?? '')![1]!;
    const replace = { tables: 3, backupId };
    expect(
      (await agentOk<{ changes: string[] }>('b', 'schema-import.check', { database: 'fusionpbx', replace })).changes[0],
    ).toContain('REPLACE schema public of fusionpbx on b (3 tables');
    const r = await agentOk<{ journalId: string }>('b', 'schema-import.apply', {
      database: 'fusionpbx',
      replace: { tables: 3, backupId },
    });
    expect(await tablesOn('b')).toBe('si_domains,si_users');
    await agentOk('b', 'journal.undo', { id: r.journalId });
    expect(await tablesOn('b')).toBe('si_domains,si_local,si_users');
    expect((await sql('b', 'select count(*) from si_local')).stdout.trim()).toBe('1');
  });
});
