import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { nodeExec } from '../../lab/index.js';
import { pairLabNodes } from '../../lab/pair.js';
import { nodeSql } from '../../lab/sql.js';
import { IMPORT_ROLE_MARK } from '../../../agent/postgres/import-role.js';

// a plays the compromised node: its root replaced pg_dump, so a's agent answers b's schema.export with
// whatever text a likes. b imports it: every hostile statement must be refused or fail as the unprivileged
// import role, leave b as it was, and the honest dump (pg_dump restored) must still import.
const PG_DUMP = '/usr/lib/postgresql/17/bin/pg_dump';
const TEXT = '/var/lib/pgdx-hostile.sql';
const PSQL_AS_POSTGRES = 'psql -X -h /var/run/postgresql -d fusionpbx -c';

/** What a hostile import could change on b, in one comparable text. */
const snapshot = () =>
  nodeSql(
    'b',
    `select json_build_object(
      'roles', (select string_agg(rolname || ':' || rolsuper, ',' order by rolname) from pg_roles),
      'objects', (select string_agg(c.relname || ':' || c.relowner::regrole, ',' order by c.relname) from pg_class c
        where c.relnamespace = 'public'::regnamespace),
      'functions', (select string_agg(p.oid::regprocedure::text, ',' order by 1) from pg_proc p
        where p.pronamespace = 'public'::regnamespace),
      'operators', (select count(*) from pg_operator where oprnamespace = 'public'::regnamespace),
      'largeObjects', (select count(*) from pg_largeobject_metadata),
      'autoConf', pg_read_file('postgresql.auto.conf'),
      'hba', (select string_agg(line_number || ' ' || type || ' ' || array_to_string(user_name, ','), ';')
        from pg_hba_file_rules))`,
  );

const interrupted = async () =>
  (await agentOk<Array<{ interrupted: boolean }>>('b', 'journal.list', { pending: true })).filter((e) => e.interrupted)
    .length;

const hostile = (text: string) =>
  nodeExec('a', ['bash', '-c', `cat > ${TEXT} && chmod 644 ${TEXT}`], { input: `${text}\n` });

beforeAll(async () => {
  await pairLabNodes();
  await nodeSql(
    'a',
    `set role fusionpbx;
    create table hx_domains (domain_uuid uuid primary key default public.uuid_generate_v4(), name text not null);
    create table hx_calls (id bigserial primary key, domain_uuid uuid references hx_domains);`,
  );
  await nodeExec('a', [
    'bash',
    '-c',
    `mv ${PG_DUMP} ${PG_DUMP}.real && printf '#!/bin/sh\\ncat ${TEXT}\\n' > ${PG_DUMP}`,
  ]);
  await nodeExec('a', ['chmod', '755', PG_DUMP]);
}, 60_000);

afterAll(async () => {
  await nodeExec('a', ['bash', '-c', `[ -e ${PG_DUMP}.real ] && mv -f ${PG_DUMP}.real ${PG_DUMP}; rm -f ${TEXT}`]);
  await nodeSql('a', 'drop table if exists hx_calls, hx_domains;');
  const pending = await agentOk<Array<{ id: string; action: string }>>('b', 'journal.list', { pending: true });
  for (const e of pending.reverse()) {
    if (e.action === 'schema-import') await agentRpc('b', 'journal.undo', { id: e.id });
  }
  await nodeSql('b', 'drop table if exists hx_calls, hx_domains; drop role if exists pwned_meta, pwned_copy, evil;');
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 60_000);

const CASES: Array<[string, string, string, string]> = [
  ['a meta-command line', `\\! ${PSQL_AS_POSTGRES} "create role pwned_meta"`, 'PEER_NOT_ALLOWED', 'meta-command'],
  [
    'a meta-command inside a line',
    `create table public.hx1 (id int primary key); select 1 \\! ${PSQL_AS_POSTGRES} "create role pwned_meta"`,
    'PG_QUERY_FAILED',
    'backslash commands are restricted',
  ],
  [
    'COPY TO PROGRAM',
    `copy (select 1) to program '${PSQL_AS_POSTGRES} "create role pwned_copy"';`,
    'PG_QUERY_FAILED',
    'permission denied',
  ],
  ['CREATE ROLE', 'create role evil superuser login;', 'PG_QUERY_FAILED', 'permission denied'],
  [
    'ALTER SYSTEM',
    "alter system set listen_addresses = '*';",
    'PG_QUERY_FAILED',
    'cannot run inside a transaction block',
  ],
  [
    'an untrusted language',
    "create function public.hx_c() returns int language c as '/usr/lib/x.so', 'f';",
    'PG_QUERY_FAILED',
    'permission denied',
  ],
  [
    'a SECURITY DEFINER function',
    "create table public.hx2 (id int primary key);\ncreate function public.hx_f() returns int language sql security definer as 'select 1';",
    'PEER_NOT_ALLOWED',
    'SECURITY DEFINER',
  ],
  [
    'rows in a table',
    'create table public.hx3 (id int primary key);\ninsert into public.hx3 values (1);',
    'PEER_NOT_ALLOWED',
    'holds rows',
  ],
  [
    'a grant that does not start a line',
    'create table public.hx4 (id int primary key);\n  grant select on public.hx4 to public;',
    'PEER_NOT_ALLOWED',
    'grants',
  ],
  [
    'a trigger that fires for replication',
    [
      'create function public.hx_t() returns trigger language plpgsql as $$begin return new; end$$;',
      'create table public.hx5 (id int primary key);',
      'create trigger hx_tr before insert on public.hx5 for each row execute function public.hx_t();',
      'alter table public.hx5 enable always trigger hx_tr;',
    ].join('\n'),
    'PEER_NOT_ALLOWED',
    'fires for replication',
  ],
  [
    'a function shadowing a built-in',
    "create function public.lower(text) returns text language sql as 'select $1';",
    'PEER_NOT_ALLOWED',
    'built-in',
  ],
  ['a large object', 'select lo_create(424242);', 'PEER_NOT_ALLOWED', 'not a kind of object'],
  [
    'an operator',
    "create function public.hx_eq(int, int) returns bool language sql as 'select true';\n" +
      'create operator public.=== (function = public.hx_eq, leftarg = int, rightarg = int);',
    'PEER_NOT_ALLOWED',
    'not a kind of object',
  ],
  [
    'row level security',
    'create table public.hx6 (id int primary key);\nalter table public.hx6 enable row level security;',
    'PEER_NOT_ALLOWED',
    'row level security',
  ],
  ['an owner line (an older exporter)', 'alter table public.hx7 owner to postgres;', 'PEER_NOT_ALLOWED', 'owner'],
];

describe("schema-import of a compromised peer's dump (b imports a)", () => {
  let before = '';
  beforeAll(async () => {
    before = await snapshot();
  });

  it.each(CASES)('refuses %s and leaves b as it was', async (_name, text, code, words) => {
    await hostile(text);
    const r = await agentRpc('b', 'schema-import.apply', { database: 'fusionpbx' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(`${r.error.message} ${r.error.hint ?? ''}`).toContain(words);
    expect(await snapshot()).toBe(before);
    expect(await interrupted()).toBe(0);
    expect(await nodeSql('b', `select count(*) from pg_roles where rolname = 'pgduplex_import'`)).toBe('0');
  });

  it("imports a's honest dump once pg_dump is a's own again: tables owned by a's owner, no import role left", async () => {
    await nodeExec('a', ['mv', '-f', `${PG_DUMP}.real`, PG_DUMP]);
    const r = await agentOk<{ journalId: string }>('b', 'schema-import.apply', { database: 'fusionpbx' });
    expect(r.journalId).toBeTruthy();
    expect(
      await nodeSql(
        'b',
        `select string_agg(tablename || ':' || tableowner, ',' order by tablename) from pg_tables
        where schemaname = 'public'`,
      ),
    ).toBe('hx_calls:fusionpbx,hx_domains:fusionpbx');
    expect(await nodeSql('b', `select count(*) from pg_roles where rolname = 'pgduplex_import'`)).toBe('0');
    expect(
      await nodeSql(
        'b',
        `select count(*) from pg_class where relacl is not null and relnamespace = 'public'::regnamespace`,
      ),
    ).toBe('0');
    // The default still calls uuid-ossp's function, which the import did not create: it stayed with its extension.
    await nodeSql('b', `insert into hx_domains (name) values ('x'); delete from hx_domains;`);
  });

  it('imports again over an import cut short (its role left, owning tables never checked), without a replace', async () => {
    const pending = await agentOk<Array<{ id: string; action: string }>>('b', 'journal.list', { pending: true });
    for (const e of pending.reverse())
      if (e.action === 'schema-import') await agentOk('b', 'journal.undo', { id: e.id });
    // What a kill -9 between the import's commit and its check leaves.
    await nodeSql(
      'b',
      `create role pgduplex_import login; comment on role pgduplex_import is '${IMPORT_ROLE_MARK}';
      grant create on schema public to pgduplex_import; set role pgduplex_import;
      create table public.hx_domains (id int primary key); create table public.hx_calls (id int primary key);`,
    );
    expect(
      (await agentOk<{ unfinishedImport?: boolean }>('b', 'hazards', { database: 'fusionpbx' })).unfinishedImport,
    ).toBe(true);
    const check = await agentOk<{ changes: string[] }>('b', 'schema-import.check', { database: 'fusionpbx' });
    expect(check.changes[0]).toContain('an import cut short left 2 tables that were never checked');
    await agentOk('b', 'schema-import.apply', { database: 'fusionpbx' });
    expect(await nodeSql('b', `select count(*) from pg_roles where rolname = 'pgduplex_import'`)).toBe('0');
    expect(
      await nodeSql(
        'b',
        `select string_agg(column_name, ',' order by column_name) from information_schema.columns
        where table_name = 'hx_domains'`,
      ),
    ).toBe('domain_uuid,name');
  });
});
