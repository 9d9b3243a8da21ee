import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeExec } from '../lab/index.js';
import { labSql } from '../lab/node-snapshot.js';
import { cleanUpLabPair, pgduplex, setUpLabPair } from '../lab/setup-pair.js';
import { waitFor } from '../lab/http.js';

// A table whose copy finished but whose sync slot on the source is gone: what a crash of the target in
// PostgreSQL's window between dropping that slot and recording the sync leaves behind (the fault suite
// hit it with kill -9 of b's postmaster). Here the catalog is put in that state by hand: the table back at
// "copy finished", its sync slot on a long gone (PostgreSQL reserves the pg_ origin names, so the sync
// fails on its missing origin here rather than on the slot; either way it retries for ever).
const TABLES = ['ls_users', 'ls_notes'] as const;
const FIXTURE = `create table ls_users (id uuid primary key default gen_random_uuid(), name text);
insert into ls_users (name) select 'u' || g from generate_series(1, 50) g;
create table ls_notes (id int primary key, note text);
insert into ls_notes select g, 'n' || g from generate_series(1, 20) g;`;
const BREAK_SYNC = `alter subscription pgduplex_from_a disable;
update pg_subscription_rel set srsubstate = 'f', srsublsn = null where srrelid = 'ls_users'::regclass;
alter subscription pgduplex_from_a enable;`;
const one = async (node: 'a' | 'b', text: string) => (await labSql(node, text)).trim();

beforeAll(async () => {
  await setUpLabPair(FIXTURE);
  // A change made on b before the sync broke: it must survive b being copied again.
  await labSql('b', `insert into ls_notes values (1000, 'written on b');`);
  await waitFor(
    "b's row on a",
    () => one('a', 'select count(*) from ls_notes where id = 1000'),
    (n) => n === '1',
    60_000,
  );
  await labSql('b', BREAK_SYNC);
  const failed =
    'grep -c "replication \\(slot\\|origin\\) \\"pg_[0-9_]*\\" does not exist" /var/log/postgresql/postgresql-17-main.log';
  await waitFor(
    "the broken sync to show in b's log",
    async () => (await nodeExec('b', ['bash', '-c', failed], { reject: false })).stdout.trim(),
    (n) => Number(n) > 0,
    60_000,
  );
}, 600_000);

afterAll(async () => {
  await cleanUpLabPair(TABLES);
  for (const node of ['a', 'b'] as const)
    await nodeExec(node, ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
}, 600_000);

describe('setup repairs a table whose sync slot was lost', () => {
  it('names the table and the lost slot, and without --replace-peer-data replaces nothing', async () => {
    const r = await pgduplex('a', 'setup', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toMatch(
      /pg_\d+_sync_\d+_\d+ on a .*the copy of (public\.)?ls_users finished.*can never finish syncing/,
    );
    expect(r.stderr).toContain('--replace-peer-data');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await one('b', 'select count(*) from ls_users')).toBe('50');
  });

  it("with --replace-peer-data waits for b's changes on a, copies b again, and both directions work", async () => {
    const r = await pgduplex('a', 'setup', '--yes', '--replace-peer-data');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/resync: the slot pg_\d+_sync_\d+_\d+ on a/);
    expect(r.stdout).toMatch(/catch-up: a has every change made on b/);
    expect(r.stdout).toMatch(/verify: \d+ tables identical/);
    expect(await one('b', `select string_agg(distinct srsubstate::text, '') from pg_subscription_rel`)).toBe('r');
    expect(await one('b', 'select note from ls_notes where id = 1000')).toBe('written on b');
    await labSql('b', `insert into ls_users (name) values ('after the repair, from b');`);
    await labSql('a', `insert into ls_users (name) values ('after the repair, from a');`);
    for (const node of ['a', 'b'] as const) {
      await waitFor(
        `both new rows on ${node}`,
        () => one(node, `select count(*) from ls_users where name like 'after the repair%'`),
        (n) => n === '2',
        60_000,
      );
    }
  });
});
