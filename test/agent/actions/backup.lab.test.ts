import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { nodeExec } from '../../lab/index.js';

// Backups of a small FS PBX-like database on node a's real agent: dump, manifest, restore, counts.
const SEED = `
create extension if not exists pgcrypto;
drop table if exists bk_cdr, bk_calls, bk_nopk;
create table bk_cdr (xml_cdr_uuid uuid primary key default gen_random_uuid(), domain_name text, json jsonb, start_stamp timestamptz default now());
create table bk_calls (id bigserial primary key, cdr uuid references bk_cdr, note text);
create table bk_nopk (k text, v int);
insert into bk_cdr (domain_name, json) select 'd' || (g % 7), jsonb_build_object('n', g) from generate_series(1, 20000) g;
insert into bk_calls (cdr, note) select xml_cdr_uuid, repeat('x', 50) from bk_cdr limit 5000;
insert into bk_nopk select 'k' || g, g from generate_series(1, 1234) g;
analyze;
`;
const sql = (text: string, db = 'fusionpbx') =>
  nodeExec(
    'a',
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', '-'],
    { input: text },
  );
const counts = async (db: string) => {
  const out = (
    await sql(
      `select string_agg(t || '=' || n, ',' order by t) from (select 'bk_cdr' t, count(*) n from bk_cdr union all select 'bk_calls', count(*) from bk_calls union all select 'bk_nopk', count(*) from bk_nopk) x;`,
      db,
    )
  ).stdout.trim();
  return out;
};
const undo: string[] = [];
let id = '';

beforeAll(async () => {
  await sql(SEED);
});
afterAll(async () => {
  for (const j of undo.reverse()) await agentRpc('a', 'journal.undo', { id: j });
  await sql('drop table if exists bk_calls, bk_cdr, bk_nopk;');
  await nodeExec('a', ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
});

describe('backup and restore (node a, real pg_dump and pg_restore)', () => {
  it('checks, then dumps to a root-only directory with a manifest whose checksum matches the file', async () => {
    const check = await agentOk<{ changes: string[] }>('a', 'backup.check', { database: 'fusionpbx' });
    expect(check.changes[0]).toMatch(/^dump fusionpbx \(\d+ MiB on disk\) to \/var\/backups\/pgduplex\/<new id>\/$/);
    const r = await agentOk<{ changed: boolean; journalId: string; notes: string[] }>('a', 'backup.apply', {
      database: 'fusionpbx',
    });
    undo.push(r.journalId);
    id = /backup id (\S+) in/.exec(r.notes[0] ?? '')![1]!;
    const dir = `/var/backups/pgduplex/${id}`;
    const manifest = JSON.parse((await nodeExec('a', ['cat', `${dir}/manifest.json`])).stdout) as {
      sha256: string;
      sizeBytes: number;
      tables: Array<{ name: string; rowEstimate: number }>;
    };
    const sum = (await nodeExec('a', ['sha256sum', `${dir}/fusionpbx.dump`])).stdout.split(' ')[0];
    expect(manifest.sha256).toBe(sum);
    expect(manifest.tables.find((t) => t.name === 'bk_cdr')?.rowEstimate).toBe(20000);
    const modes = (
      await nodeExec('a', ['stat', '-c', '%a %U', dir, `${dir}/fusionpbx.dump`, `${dir}/manifest.json`])
    ).stdout
      .trim()
      .split('\n');
    expect(modes).toEqual(['700 root', '600 root', '600 root']);
  });

  it('restores into a new scratch database with identical row counts, and undo drops it', async () => {
    const r = await agentOk<{ journalId: string; notes: string[] }>('a', 'backup-restore.apply', {
      id,
      into: 'pgduplex_restore_t1',
    });
    expect(r.notes).toEqual(
      expect.arrayContaining(['public.bk_cdr: 20000 rows', 'public.bk_calls: 5000 rows', 'public.bk_nopk: 1234 rows']),
    );
    expect(await counts('pgduplex_restore_t1')).toBe(await counts('fusionpbx'));
    await agentOk('a', 'journal.undo', { id: r.journalId });
    expect(
      (await sql(`select count(*) from pg_database where datname = 'pgduplex_restore_t1'`, 'postgres')).stdout.trim(),
    ).toBe('0');
  });

  it('refuses what it must not do, changing nothing', async () => {
    expect(await agentRpc('a', 'backup.apply', { database: 'nosuchdb' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await agentRpc('a', 'backup-restore.apply', { id, into: 'fusionpbx' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_PARAMS' },
    });
    expect(await agentRpc('a', 'backup-restore.apply', { id: '../../etc', into: 'pgduplex_restore_x' })).toMatchObject({
      ok: false,
    });
    await nodeExec('a', [
      'bash',
      '-c',
      `cp -a /var/backups/pgduplex/${id} /var/backups/pgduplex/${id.replace('-fusionpbx', '9-fusionpbx')} && echo x >> /var/backups/pgduplex/${id.replace('-fusionpbx', '9-fusionpbx')}/fusionpbx.dump`,
    ]);
    const tampered = await agentRpc('a', 'backup-restore.apply', {
      id: id.replace('-fusionpbx', '9-fusionpbx'),
      into: 'pgduplex_restore_t2',
    });
    expect(tampered).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining("does not match its manifest's checksum") },
    });
    expect(
      (await sql(`select count(*) from pg_database where datname like 'pgduplex_restore_%'`, 'postgres')).stdout.trim(),
    ).toBe('0');
  });

  it('runs one state-changing action at a time: a second one gets BUSY naming the first', async () => {
    const [one, two] = await Promise.all([
      agentRpc('a', 'backup.apply', { database: 'fusionpbx' }),
      new Promise((r) => setTimeout(r, 30)).then(() => agentRpc('a', 'backup.apply', { database: 'postgres' })),
    ]);
    const answers = [one, two];
    expect(answers.filter((x) => x.ok)).toHaveLength(1);
    expect(answers.find((x) => !x.ok)).toMatchObject({
      ok: false,
      error: { code: 'BUSY', message: expect.stringContaining('backup.apply') },
    });
    const done = answers.find((x) => x.ok) as { ok: true; result: { journalId: string } };
    undo.push(done.result.journalId);
  });

  it('keeps the backup when its journal entry is undone', async () => {
    const r = await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: undo.shift()! });
    expect(r.undone[0]).toContain('backups are never deleted by an undo');
    expect(
      (await nodeExec('a', ['test', '-f', `/var/backups/pgduplex/${id}/fusionpbx.dump`], { reject: false })).exitCode,
    ).toBe(0);
  });

  it('fails cleanly on a full disk: a clear error and nothing left of the backup', async () => {
    await nodeExec('a', ['mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', '/var/backups/pgduplex']);
    try {
      const r = await agentRpc('a', 'backup.apply', { database: 'fusionpbx' });
      expect(r).toMatchObject({
        ok: false,
        error: { message: expect.stringContaining('ENOSPC'), hint: expect.stringContaining('is full') },
      });
      expect((await nodeExec('a', ['bash', '-c', 'ls -A /var/backups/pgduplex | wc -l'])).stdout.trim()).toBe('0');
    } finally {
      await nodeExec('a', ['umount', '/var/backups/pgduplex']);
    }
  });

  it('removes, and names, an incomplete backup an interrupted run left, and never lists it as a backup', async () => {
    // What an agent killed mid-dump leaves: the partial directory, a part of the dump, no manifest.
    const partial = '/var/backups/pgduplex/.partial-20261123T000000000Z-fusionpbx';
    await nodeExec('a', [
      'bash',
      '-c',
      `mkdir -m 0700 ${partial} && head -c 3145728 /dev/zero > ${partial}/fusionpbx.dump`,
    ]);
    const r = await agentOk<{ journalId: string; notes: string[]; artifact: string }>('a', 'backup.apply', {
      database: 'fusionpbx',
    });
    undo.push(r.journalId);
    expect(r.notes[1]).toBe(`removed ${partial}, an incomplete backup an interrupted run left (3.0 MiB, no manifest)`);
    const left = (await nodeExec('a', ['ls', '-A', '/var/backups/pgduplex'])).stdout.trim().split('\n');
    expect(left.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(r.notes[0]).toBe(`backup id ${r.artifact} in /var/backups/pgduplex/${r.artifact}`);
    expect(r.artifact).toMatch(/^\d{8}T\d{9}Z-fusionpbx$/);
  });
});
