import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { nodeExec } from '../../lab/index.js';

const sql = (text: string) =>
  nodeExec(
    'a',
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', 'fusionpbx', '-f', '-'],
    { input: text },
  );
const state = async () =>
  (
    await sql(
      `select coalesce((select puballtables::text || ':' || coalesce((select string_agg(tablename, ',' order by tablename) from pg_publication_tables where pubname = 'pgdx_pub_t'), '') from pg_publication where pubname = 'pgdx_pub_t'), 'absent')`,
    )
  ).stdout.trim();

beforeAll(async () => {
  await sql(
    `create table if not exists pub_a (id int primary key); create table if not exists pub_b (id int primary key); create table if not exists "Odd ""Name""" (id int primary key);`,
  );
});
afterAll(async () => {
  await sql(`drop publication if exists pgdx_pub_t; drop table if exists pub_a, pub_b, "Odd ""Name""";`);
});

describe('publication action (node a, real PostgreSQL 17)', () => {
  it('creates for all tables, narrows to a list, and undoes both steps in order', async () => {
    const all = { database: 'fusionpbx', name: 'pgdx_pub_t', tables: { all: true } };
    expect((await agentOk<{ changes: string[] }>('a', 'publication.check', all)).changes).toEqual([
      'create publication pgdx_pub_t in fusionpbx for all tables',
    ]);
    const created = await agentOk<{ journalId: string }>('a', 'publication.apply', all);
    expect(await state()).toMatch(/^true:/);
    expect((await agentOk<{ changes: string[] }>('a', 'publication.check', all)).changes).toEqual([]);

    const list = {
      ...all,
      tables: {
        list: [
          { schema: 'public', name: 'pub_a' },
          { schema: 'public', name: 'pub_b' },
        ],
      },
    };
    const narrowed = await agentOk<{ journalId: string }>('a', 'publication.apply', list);
    expect(await state()).toBe('false:pub_a,pub_b');
    expect(await agentOk('a', 'publication.apply', list)).toEqual({ changed: false, changes: [] });

    await agentOk('a', 'journal.undo', { id: narrowed.journalId });
    expect(await state()).toMatch(/^true:/);
    await agentOk('a', 'journal.undo', { id: created.journalId });
    expect(await state()).toBe('absent');
  });

  it('rejects names it would have to quote, before touching anything', async () => {
    for (const bad of [{ name: 'x"; drop table pub_a; --' }, { name: 'Pub' }, { name: 'a\nb' }]) {
      const r = await agentRpc('a', 'publication.apply', { database: 'fusionpbx', tables: { all: true }, ...bad });
      expect(r).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
    }
    const r = await agentRpc('a', 'publication.apply', {
      database: 'fusionpbx',
      name: 'pgdx_pub_t',
      tables: { list: [{ schema: 'public', name: 'Odd "Name"' }] },
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
    expect(await state()).toBe('absent');
    expect((await sql(`select count(*) from pg_tables where tablename = 'pub_a'`)).stdout.trim()).toBe('1');
  });
});
