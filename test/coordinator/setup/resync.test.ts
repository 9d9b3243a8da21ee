import { fakeAgents } from '../../support/fake-agents.js';
import { describe, expect, it } from 'vitest';
import type { Agents } from '../../../coordinator/setup/agents.js';
import {
  brokenForwardSlot,
  brokenTableSync,
  lsnValue,
  waitForReverseCatchUp,
} from '../../../coordinator/setup/resync.js';
import type { PairFacts } from '../../../coordinator/setup/steps.js';
import { PgduplexError } from '../../../shared/errors.js';

const f: PairFacts = {
  database: 'fusionpbx',
  source: { side: 'local', node: 'a', address: '10.0.0.1' },
  target: { side: 'peer', node: 'b', address: '10.0.0.2' },
  pgPort: 5432,
};
type Slot = { name: string; walStatus: string | null; confirmedFlushLsn: string | null };
const status = (slots: Slot[], walLsn = '0/100') => ({ walLsn, maxSlotWalKeepSize: '64MB', slots });
/** Agents answering replication.status per side (a queue, the last answer repeating) and the source's subscriptions. */
const fake = (
  answers: Record<'local' | 'peer', Array<ReturnType<typeof status>>>,
  sourceSubs = ['pgduplex_from_b'],
): Agents =>
  fakeAgents(async (side: 'local' | 'peer', action: string) => {
    if (action === 'subscription.status') return sourceSubs.map((name) => ({ name }));
    const q = answers[side];
    return q.length > 1 ? q.shift() : q[0];
  });

describe('lsnValue', () => {
  it('orders LSNs by both halves', () => {
    expect(lsnValue('0/FF') < lsnValue('1/0')).toBe(true);
    expect(lsnValue('0/1A2B') === 0x1a2bn).toBe(true);
    expect(lsnValue('2/10') > lsnValue('1/FFFFFFFF')).toBe(true);
  });
});

describe('brokenForwardSlot', () => {
  const ok = (name: string): Slot => ({ name, walStatus: 'reserved', confirmedFlushLsn: '0/100' });
  it('is undefined while both slots can stream', async () => {
    expect(
      await brokenForwardSlot(
        fake({ local: [status([ok('pgduplex_from_a')])], peer: [status([ok('pgduplex_from_b')])] }),
        f,
      ),
    ).toBeUndefined();
  });

  it("names the source's lost slot for the target, with the cap it outgrew", async () => {
    const lost = await brokenForwardSlot(
      fake({
        local: [status([{ name: 'pgduplex_from_a', walStatus: 'lost', confirmedFlushLsn: '0/50' }])],
        peer: [status([ok('pgduplex_from_b')])],
      }),
      f,
    );
    expect(lost).toEqual({
      slot: 'pgduplex_from_a',
      on: 'a',
      why: 'was invalidated (wal_status lost): b was away longer than max_slot_wal_keep_size (64MB) allows',
    });
  });

  it('counts a slot that is gone as broken too', async () => {
    expect(
      (await brokenForwardSlot(fake({ local: [status([])], peer: [status([ok('pgduplex_from_b')])] }), f))?.why,
    ).toBe('does not exist any more');
  });

  it("refuses when the target's slot for the source is lost: neither side may simply win; the hint gives the manual steps", async () => {
    const err = await brokenForwardSlot(
      fake({
        local: [status([ok('pgduplex_from_a')])],
        peer: [status([{ name: 'pgduplex_from_b', walStatus: 'lost', confirmedFlushLsn: null }])],
      }),
      f,
    ).catch((e: unknown) => e as PgduplexError);
    expect(err).toBeInstanceOf(PgduplexError);
    expect((err as PgduplexError).message).toMatch(
      /^the replication slot pgduplex_from_b on b that feeds a was invalidated .*: changes made on b in that time never reached a/,
    );
    expect((err as PgduplexError).hint).toContain(
      "on a: ALTER SUBSCRIPTION pgduplex_from_b DISABLE; ALTER SUBSCRIPTION pgduplex_from_b SET (slot_name = NONE); DROP SUBSCRIPTION pgduplex_from_b; on b: SELECT pg_drop_replication_slot('pgduplex_from_b')",
    );
  });

  it('ignores a missing reverse slot when the source never subscribed back', async () => {
    expect(
      await brokenForwardSlot(fake({ local: [status([ok('pgduplex_from_a')])], peer: [status([])] }, []), f),
    ).toBeUndefined();
  });
});

describe('waitForReverseCatchUp', () => {
  it("returns once the source's subscription has confirmed the target's WAL position at the start", async () => {
    const lines: string[] = [];
    const agents = fake({
      local: [status([])],
      peer: [
        status([{ name: 'pgduplex_from_b', walStatus: 'reserved', confirmedFlushLsn: '0/80' }], '0/200'),
        status([{ name: 'pgduplex_from_b', walStatus: 'reserved', confirmedFlushLsn: '0/1F0' }], '0/210'),
        status([{ name: 'pgduplex_from_b', walStatus: 'reserved', confirmedFlushLsn: '0/200' }], '0/220'),
      ],
    });
    await waitForReverseCatchUp(agents, f, (s, n, w) => lines.push(`${s} ${n} ${w}`), 30_000);
    expect(lines.at(-1)).toBe('ok a catch-up: a has every change made on b up to 0/200');
  }, 20_000);

  it('gives up with a clear TIMEOUT when the source does not catch up, before anything is replaced', async () => {
    const agents = fake({
      local: [status([])],
      peer: [status([{ name: 'pgduplex_from_b', walStatus: 'reserved', confirmedFlushLsn: '0/80' }], '0/200')],
    });
    const err = await waitForReverseCatchUp(agents, f, () => undefined, 0).catch((e: unknown) => e as PgduplexError);
    expect((err as PgduplexError).code).toBe('TIMEOUT');
    expect((err as PgduplexError).hint).toMatch(/^nothing was replaced yet/);
  });
});

describe('brokenTableSync', () => {
  const sync = { table: 'public.users', slot: 'pg_16489_sync_16440_7711' };
  /** The target's finished-copy tables and the source's slots, one answer per poll (the last repeating). */
  const agents = (finished: Array<(typeof sync)[]>, sourceSlots: string[][]): Agents =>
    fakeAgents(async (side: 'local' | 'peer', action: string) => {
      if (side === 'peer' && action === 'subscription.status')
        return [{ name: 'pgduplex_from_a', finishedCopy: finished.length > 1 ? finished.shift() : finished[0] }];
      const names = sourceSlots.length > 1 ? sourceSlots.shift()! : sourceSlots[0]!;
      return status(names.map((name) => ({ name, walStatus: 'reserved', confirmedFlushLsn: null })));
    });

  it('is undefined when no table waits between copy and sync, or its slot is there', async () => {
    expect(await brokenTableSync(agents([[]], [['pgduplex_from_a']]), f, 0)).toBeUndefined();
    expect(await brokenTableSync(agents([[sync]], [['pgduplex_from_a', sync.slot]]), f, 0)).toBeUndefined();
  });

  it('forgives a slot missing only for a moment (PostgreSQL drops it just before recording the sync)', async () => {
    expect(await brokenTableSync(agents([[sync], []], [['pgduplex_from_a']]), f, 3000)).toBeUndefined();
  }, 10_000);

  it('names the table and its slot when the slot stays missing', async () => {
    const lost = await brokenTableSync(agents([[sync]], [['pgduplex_from_a']]), f, 1500);
    expect(lost?.slot).toBe(sync.slot);
    expect(lost?.on).toBe('a');
    expect(lost?.why).toMatch(
      /^does not exist any more: PostgreSQL dropped it as the copy of public\.users finished, and b stopped .* can never finish syncing$/,
    );
  }, 10_000);
});
