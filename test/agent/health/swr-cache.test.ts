import { describe, expect, it } from 'vitest';
import { SwrCache } from '../../../agent/health/swr-cache.js';

function setup(freshMs = 100, maxStaleMs = 1000) {
  let clock = 0;
  let calls = 0;
  let fail = false;
  const pending: Array<() => void> = [];
  const cache = new SwrCache(
    () =>
      new Promise<number>((resolve, reject) => {
        calls++;
        const n = calls;
        pending.push(() => (fail ? reject(new Error('probe failed')) : resolve(n)));
      }),
    freshMs,
    maxStaleMs,
    () => clock,
  );
  const settle = async () => {
    for (const p of pending.splice(0)) p();
    await new Promise((r) => setImmediate(r));
  };
  return { cache, settle, tick: (ms: number) => (clock += ms), calls: () => calls, failNext: () => (fail = true) };
}

describe('SwrCache', () => {
  it('makes concurrent first callers share one load', async () => {
    const t = setup();
    const a = t.cache.get();
    const b = t.cache.get();
    await t.settle();
    expect(await a).toBe(1);
    expect(await b).toBe(1);
    expect(t.calls()).toBe(1);
  });

  it('serves the cached value while fresh, then the stale one while a single refresh runs', async () => {
    const t = setup();
    const first = t.cache.get();
    await t.settle();
    await first;
    t.tick(50);
    expect(await t.cache.get()).toBe(1);
    expect(t.calls()).toBe(1);
    t.tick(100);
    expect(await t.cache.get()).toBe(1);
    expect(await t.cache.get()).toBe(1);
    expect(t.calls()).toBe(2);
    await t.settle();
    expect(await t.cache.get()).toBe(2);
  });

  it('makes callers wait for a fresh value once the cached one is too old', async () => {
    const t = setup();
    const first = t.cache.get();
    await t.settle();
    await first;
    t.tick(2000);
    const waiting = t.cache.get();
    await t.settle();
    expect(await waiting).toBe(2);
  });

  it('forgets a failed load so the next call tries again', async () => {
    const t = setup();
    t.failNext();
    const first = t.cache.get().catch((e: unknown) => e);
    await t.settle();
    expect(await first).toEqual(new Error('probe failed'));
    expect(t.calls()).toBe(1);
    const again = t.cache.get();
    expect(t.calls()).toBe(2);
    again.catch(() => undefined);
  });

  it('answers getFresh only from a load that started within the age asked for', async () => {
    const t = setup(1000, 5000);
    const first = t.cache.get();
    await t.settle();
    await first;
    t.tick(500);
    expect(await t.cache.getFresh(1000)).toBe(1);
    t.tick(600); // the cached load started 1100 ms ago: too old for getFresh, fine for get
    expect(await t.cache.get()).toBe(1);
    const fresh = t.cache.getFresh(1000);
    await t.settle();
    expect(await fresh).toBe(2);
  });

  it('does not take a load that was already in flight before the age asked for: it waits and loads again', async () => {
    const t = setup(100, 5000);
    const first = t.cache.get();
    await t.settle();
    await first;
    t.tick(200);
    expect(await t.cache.get()).toBe(1); // stale served, load 2 starts at 200
    t.tick(1500); // load 2 is still in flight, started 1500 ms ago
    const fresh = t.cache.getFresh(1000);
    await t.settle(); // load 2 finishes; getFresh starts load 3
    await t.settle();
    expect(await fresh).toBe(3);
    expect(t.calls()).toBe(3);
  });

  it('joins a load in flight that is recent enough instead of starting another', async () => {
    const t = setup(100, 5000);
    const first = t.cache.get();
    await t.settle();
    await first;
    t.tick(1200);
    void t.cache.get(); // stale served; load 2 starts at 1200
    t.tick(300); // the cached load is 1500 ms old, load 2 only 300 ms
    const fresh = t.cache.getFresh(1000);
    await t.settle();
    expect(await fresh).toBe(2);
    expect(t.calls()).toBe(2);
  });
});
