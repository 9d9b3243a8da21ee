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
});
