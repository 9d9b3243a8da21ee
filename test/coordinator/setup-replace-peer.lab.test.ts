import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { nodeExec, type NodeName } from '../lab/index.js';
import { undoEverything } from '../lab/undo-all.js';
import { pairLabNodes } from '../lab/pair.js';

// A peer that already holds rows: nothing is destroyed without --replace-peer-data; with it, a backup
// is taken first and restores.
const sql = (node: NodeName, text: string, db = 'fusionpbx') =>
  nodeExec(
    node,
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', '-'],
    { input: text },
  );
const setup = (...args: string[]) =>
  nodeExec('a', ['pgduplex', 'setup', ...args], { reject: false, timeoutMs: 600_000 });

const pendingCount = async (node: NodeName) =>
  (await agentOk<Array<{ undone: boolean }>>(node, 'journal.list')).filter((e) => !e.undone).length;
const before = { a: 0, b: 0 };

beforeAll(async () => {
  before.a = await pendingCount('a');
  before.b = await pendingCount('b');
  await pairLabNodes();
  await sql(
    'a',
    `create table rp_users (id uuid primary key default gen_random_uuid(), name text); insert into rp_users (name) select 'u' || g from generate_series(1, 30) g;`,
  );
  await sql(
    'b',
    `create table rp_old_local (id int primary key, note text); insert into rp_old_local select g, 'keep me?' from generate_series(1, 7) g;`,
  );
}, 120_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const) {
    await sql(node, 'drop table if exists rp_users, rp_old_local; drop function if exists rp_definer();');
    await sql(node, 'drop database if exists pgduplex_restore_rp with (force);', 'postgres');
    await nodeExec(node, ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 300_000);

describe('setup against a peer that holds rows', () => {
  it('refuses with --yes alone, naming what would be destroyed, and destroys nothing', async () => {
    const r = await setup('--yes');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /setup would destroy the database fusionpbx on b \(10\.231\.7\.12\): schema public, 1 tables, 7 rows/,
    );
    expect(r.stderr).toContain('--replace-peer-data');
    expect((await sql('b', 'select count(*) from rp_old_local')).stdout.trim()).toBe('7');
    for (const node of ['a', 'b'] as const) expect(await pendingCount(node)).toBe(before[node]);
  });

  it('with --replace-peer-data backs b up first, replaces it, and the backup restores the old rows', async () => {
    // And a backup an earlier run was killed in the middle of is removed, and named, rather than kept as one.
    await nodeExec('b', [
      'bash',
      '-c',
      'mkdir -m 0700 /var/backups/pgduplex/.partial-20261123T000000000Z-fusionpbx && head -c 1048576 /dev/zero > /var/backups/pgduplex/.partial-20261123T000000000Z-fusionpbx/fusionpbx.dump',
    ]);
    // A first run whose import b refuses (a SECURITY DEFINER function in a's schema): b is restored from its backup.
    await sql('a', `create function rp_definer() returns int language sql security definer as 'select 1';`);
    const refused = await setup('--yes', '--replace-peer-data');
    expect(refused.exitCode, `${refused.stdout}\n${refused.stderr}`).toBe(1);
    expect(refused.stderr).toContain('SECURITY DEFINER');
    expect(refused.stdout).toMatch(
      /note\s+b\s+backup: removed \/var\/backups\/pgduplex\/\.partial-20261123T000000000Z-fusionpbx, an incomplete backup an interrupted run left \(1\.0 MiB, no manifest\)/,
    );
    const id = /backup id (\S+-fusionpbx)/.exec(refused.stdout)?.[1];
    expect(id, refused.stdout).toBeDefined();
    expect((await sql('b', 'select count(*) from rp_old_local')).stdout.trim()).toBe('7');
    await sql('a', 'drop function rp_definer();');
    // The re-run, within limits.peerBackupIntervalMs: b holds what that backup holds, so b gives it back.
    const r = await setup('--yes', '--replace-peer-data');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`ok\\s+b\\s+backup: backup id ${id} in `));
    expect(r.stdout).toMatch(/note\s+b\s+backup: reused: taken \d+ s ago for the same request/);
    const backups = await nodeExec('b', ['bash', '-c', 'ls -1 /var/backups/pgduplex | grep -- -fusionpbx']);
    expect(backups.stdout.trim()).toBe(id);
    expect(r.stdout).toContain("the peer's previous data is backed up");
    expect((await sql('b', 'select count(*) from rp_users')).stdout.trim()).toBe('30');
    expect((await sql('b', `select count(*) from pg_tables where tablename = 'rp_old_local'`)).stdout.trim()).toBe('0');
    const restored = await agentOk<{ notes: string[] }>('b', 'backup-restore.apply', {
      id,
      into: 'pgduplex_restore_rp',
    });
    expect(restored.notes).toContain('public.rp_old_local: 7 rows');
  });
});
