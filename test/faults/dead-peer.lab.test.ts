import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { nodeExec } from '../lab/exec.js';
import { waitFor } from '../lab/http.js';
import type { NodeName } from '../lab/constants.js';
import { pairLabNodes } from '../lab/pair.js';
import { nodeSql as sql } from '../lab/sql.js';
import { undoEverything } from '../lab/undo-all.js';
import { cutB } from './faults.js';

// A dead peer: b is cut off from a (its network) while both keep writing. Within max_slot_wal_keep_size a
// keeps the WAL b needs and replication resumes; past it a's slot for b is invalidated (within a minute,
// thanks to tcp_user_timeout: a walsender stuck writing to b would otherwise hold up every checkpoint, and
// the cap, for TCP's ~15 minutes of retries) and a re-run of setup re-copies b after a has every change b
// made meanwhile, with both directions working after.
const CAP = '64MB';
const CAP_BYTES = 64 * 1024 ** 2;
const SEGMENT = 16 * 1024 ** 2;
const FIXTURE = `create table dp_accounts (id bigserial primary key, name text not null);
create table dp_events (event_uuid uuid primary key default gen_random_uuid(), account_id bigint references dp_accounts, note text not null);
insert into dp_accounts (name) select 'acct' || g from generate_series(1, 2000) g;
insert into dp_events (account_id, note) select 1 + g % 2000, 'seed' from generate_series(1, 10000) g;`;

type Slot = { name: string; walStatus: string | null; retainedBytes: number | null };
type Status = {
  maxSlotWalKeepSize: string;
  slots: Slot[];
  subscriptions: Array<{ name: string; applyErrors: number }>;
};

const setup = (...args: string[]) =>
  nodeExec('a', ['pgduplex', 'setup', '--max-slot-wal-keep-size', CAP, ...args], { reject: false, timeoutMs: 900_000 });
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const slotForB = async () =>
  (await agentOk<Status>('a', 'replication.status')).slots.find((s) => s.name === 'pgduplex_from_a');
const count = async (node: NodeName, note: string) =>
  Number(await sql(node, `select count(*) from dp_events where note = '${note}'`));
const write = (node: NodeName, note: string, rows: number) =>
  sql(
    node,
    `insert into dp_events (account_id, note) select 1 + g % 2000, '${note}' from generate_series(1, ${rows}) g;`,
  );
/** About 16 MB of WAL on a, in another database: a's slot for fusionpbx must keep it, fusionpbx's data does not change. */
const walFiller = () =>
  sql(
    'a',
    `insert into pgdx_wal_filler select repeat(md5(g::text), 30) from generate_series(1, 14000) g; truncate pgdx_wal_filler; checkpoint;`,
    'postgres',
  );

beforeAll(async () => {
  await pairLabNodes();
  await sql('a', FIXTURE);
  await sql('a', 'create table pgdx_wal_filler (x text);', 'postgres');
}, 300_000);

afterAll(async () => {
  await cutB(false);
  await sql('a', 'drop table if exists pgdx_wal_filler;', 'postgres');
  await undoEverything();
  for (const node of ['a', 'b'] as const) {
    await sql(node, 'drop table if exists dp_events, dp_accounts;');
    await nodeExec(node, ['bash', '-c', 'rm -rf --one-file-system /var/backups/pgduplex/*-fusionpbx']);
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 600_000);

describe('a dead peer (b cut off from a while both write)', () => {
  it(`setup with --max-slot-wal-keep-size ${CAP} caps the WAL each node keeps for the other`, async () => {
    const r = await setup();
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toMatch(/changed\s+a\s+pg-settings: max_slot_wal_keep_size: -1 -> 64MB/);
    expect((await agentOk<Status>('a', 'replication.status')).maxSlotWalKeepSize).toBe(CAP);
    for (const node of ['a', 'b'] as const)
      expect(await sql(node, `select reset_val from pg_settings where name = 'tcp_user_timeout'`), node).toBe('60000');
  });

  it(
    'within the cap: a keeps the WAL b needs (reserved, never above the cap) and b catches up when it is back',
    { timeout: 600_000 },
    async () => {
      await cutB(true);
      try {
        await write('b', 'b-away-1', 40);
        await write('a', 'a-away-1', 500);
        await walFiller();
        const slot = await slotForB();
        expect(slot?.walStatus === 'reserved' || slot?.walStatus === 'extended', JSON.stringify(slot)).toBe(true);
        expect(slot?.retainedBytes ?? 0).toBeGreaterThan(SEGMENT / 2);
        expect(slot?.retainedBytes ?? Infinity).toBeLessThanOrEqual(CAP_BYTES);
      } finally {
        await cutB(false);
      }
      await waitFor(
        'b to catch up with a',
        () => count('b', 'a-away-1'),
        (n) => n === 500,
        300_000,
      );
      await waitFor(
        'a to catch up with b',
        () => count('a', 'b-away-1'),
        (n) => n === 40,
        300_000,
      );
      const v = await nodeExec('a', ['pgduplex', 'verify'], { reject: false, timeoutMs: 300_000 });
      expect(v.exitCode, log(v)).toBe(0);
    },
  );

  it(
    "past the cap: a's slot for b is invalidated at a checkpoint, and until then a holds at most the cap plus a segment",
    { timeout: 600_000 },
    async () => {
      await cutB(true);
      await write('b', 'b-away-2', 30);
      await write('a', 'a-away-2', 700);
      const seen: Array<number | null> = [];
      let slot = await slotForB();
      for (let i = 0; i < 30 && slot?.walStatus !== 'lost'; i++) {
        await walFiller();
        slot = await slotForB();
        seen.push(slot?.retainedBytes ?? null);
      }
      expect(slot?.walStatus, JSON.stringify(seen)).toBe('lost');
      for (const bytes of seen.filter((x): x is number => x !== null))
        expect(bytes).toBeLessThanOrEqual(CAP_BYTES + SEGMENT);
    },
  );

  it(
    'once b is back, setup refuses to re-copy it without --replace-peer-data, naming the lost slot',
    { timeout: 600_000 },
    async () => {
      await cutB(false);
      await waitFor(
        "b's changes made while away to reach a",
        () => count('a', 'b-away-2'),
        (n) => n === 30,
        300_000,
      );
      const r = await setup();
      expect(r.exitCode, log(r)).toBe(1);
      expect(r.stderr).toContain(
        'the replication slot pgduplex_from_a on a that feeds b was invalidated (wal_status lost): b was away longer than max_slot_wal_keep_size (64MB) allows',
      );
      expect(r.stderr).toMatch(/--yes --replace-peer-data: setup first waits until a has every change made on b/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
  );

  it(
    "with it, setup waits for b's changes on a, backs b up, copies a to b again, and both directions work",
    { timeout: 600_000 },
    async () => {
      const errorsBefore =
        (await agentOk<Status>('a', 'replication.status')).subscriptions.find((s) => s.name === 'pgduplex_from_b')
          ?.applyErrors ?? 0;
      const r = await setup('--yes', '--replace-peer-data');
      expect(r.exitCode, log(r)).toBe(0);
      for (const step of [
        /ok\s+a\s+catch-up: a has every change made on b/,
        /changed\s+b\s+subscription-drop: dropped subscription pgduplex_from_a/,
        /changed\s+b\s+backup: /,
        /changed\s+b\s+schema-import: /,
        /ok\s+b\s+initial copy: /,
        /verify: 2 tables identical/,
      ]) {
        expect(r.stdout).toMatch(step);
      }
      for (const node of ['a', 'b'] as const) {
        expect(await count(node, 'b-away-2'), node).toBe(30);
        expect(await count(node, 'a-away-2'), node).toBe(700);
      }
      expect((await slotForB())?.walStatus).toBe('reserved');
      // The re-copy into b did not come back to a as duplicates: a's subscription to b saw no error.
      expect(
        (await agentOk<Status>('a', 'replication.status')).subscriptions.find((s) => s.name === 'pgduplex_from_b')
          ?.applyErrors,
      ).toBe(errorsBefore);
      await write('a', 'a-after', 5);
      await write('b', 'b-after', 7);
      await waitFor(
        'a write on b',
        () => count('b', 'a-after'),
        (n) => n === 5,
        60_000,
      );
      await waitFor(
        'b write on a',
        () => count('a', 'b-after'),
        (n) => n === 7,
        60_000,
      );
      const v = await nodeExec('b', ['pgduplex', 'verify'], { reject: false, timeoutMs: 300_000 });
      expect(v.exitCode, log(v)).toBe(0);
    },
  );
});
