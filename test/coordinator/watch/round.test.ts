import { describe, expect, it } from 'vitest';
import type { Agents } from '../../../coordinator/setup/agents.js';
import { drainBlocker, settleOrWait } from '../../../coordinator/watch/lag.js';
import { pace, watchRound } from '../../../coordinator/watch/round.js';

// The timer runs on every node with the package: a node not paired, or not replicating, has nothing to watch.
const agents = (answers: Record<string, unknown>): Agents & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    call: (async (_side: string, d: { name: string }) => {
      asked.push(d.name);
      if (!(d.name in answers)) throw new Error(`unexpected ${d.name}`);
      return answers[d.name];
    }) as Agents['call'],
  };
};
const limits = { maxSeconds: 1, pauseMs: 0, minIntervalSeconds: 0, sliceRows: 10, maxKeys: 10, drainMs: 10 };
const status = (subscriptions: Array<{ name: string; database: string }>) => ({ subscriptions });

describe('a watch round with nothing to watch', () => {
  it('says so, exits as equal and asks nothing of a peer when the node is not paired', async () => {
    const a = agents({ whoami: { node: 'a' }, 'replication.status': status([]) });
    const lines: string[] = [];
    const r = await watchRound(a, { database: 'fusionpbx', limits, report: (_s, n, w) => lines.push(`${n} ${w}`) });
    expect(r.ran).toBe(false);
    expect(lines).toEqual(['a watch: nothing to watch: this node is not paired']);
    expect(a.asked).toEqual(['whoami', 'replication.status']);
  });

  it('says so when paired but the database is not replicated by pgduplex', async () => {
    const a = agents({
      whoami: { node: 'a', peerAddress: '10.0.0.2' },
      'replication.status': status([{ name: 'fspbx_subscription_b', database: 'fusionpbx' }]),
    });
    const lines: string[] = [];
    await watchRound(a, { database: 'fusionpbx', limits, report: (_s, n, w) => lines.push(`${n} ${w}`) });
    expect(lines).toEqual(['a watch: nothing to watch: fusionpbx is not replicated by pgduplex here']);
  });
});

describe('settling while replication is stopped', () => {
  const facts = {
    database: 'fusionpbx',
    source: { side: 'local', node: 'a' },
    target: { side: 'peer', node: 'b' },
  } as unknown as Parameters<typeof settleOrWait>[1];
  const slot = (name: string, active: boolean) => ({ name, active });
  const both = (onA: boolean, onB: boolean): Agents => ({
    call: (async (side: string) => ({
      walLsn: '0/1',
      slots: side === 'local' ? [slot('pgduplex_from_a', onA)] : [slot('pgduplex_from_b', onB)],
    })) as Agents['call'],
  });

  it('names the direction that is not applied and waits for no lag', async () => {
    expect(await drainBlocker(both(false, true), facts)).toBe(
      "b is not applying a's changes (slot pgduplex_from_a on a is not read)",
    );
    expect(await drainBlocker(both(true, true), facts)).toBeNull();
    const r = await settleOrWait(
      both(false, true),
      facts,
      { schema: 'public', table: 't' },
      [{ after: null, upTo: null }],
      {
        sliceRows: 10,
        maxKeys: 10,
        drainMs: 60_000,
      },
    );
    expect(r).toEqual({
      reason: "replication is stopped: b is not applying a's changes (slot pgduplex_from_a on a is not read)",
    });
  });

  it('has nothing to settle when no slice differed', async () => {
    const r = await settleOrWait(both(false, false), facts, { schema: 'public', table: 't' }, [], {
      sliceRows: 10,
      maxKeys: 10,
      drainMs: 10,
    });
    expect(r).toEqual({ rows: [] });
  });
});

describe('the pace of a round', () => {
  it('pauses at least pauseMs, and as long as the slice took when that was longer', async () => {
    let now = 0;
    const p = pace(5, () => now);
    now = 30; // a 30 ms slice
    const t0 = performance.now();
    await p();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    const t1 = performance.now();
    now += 1; // a 1 ms slice
    await p();
    expect(performance.now() - t1).toBeLessThan(25);
  });
});
