import { describe, expect, it } from 'vitest';
import { poll, retry } from '../../shared/poll.js';

describe('poll', () => {
  it('answers with the first value the probe gives, asking again until then', async () => {
    let asked = 0;
    const answer = await poll(async () => (++asked >= 3 ? `after ${asked}` : undefined), {
      timeoutMs: 5000,
      intervalMs: 1,
      expired: () => 'expired',
    });
    expect(answer).toBe('after 3');
  });

  it('asks at least once, and once more at the deadline, before expiring', async () => {
    let asked = 0;
    const answer = await poll(
      async () => {
        asked++;
        return undefined;
      },
      { timeoutMs: 30, intervalMs: 1000, expired: () => 'expired' },
    );
    expect(answer).toBe('expired');
    expect(asked).toBe(2);
  });

  it('passes on what the probe throws, and what expired throws', async () => {
    await expect(
      poll(
        async () => {
          throw new Error('probe broke');
        },
        { timeoutMs: 1000, intervalMs: 1, expired: () => 'x' },
      ),
    ).rejects.toThrow('probe broke');
    await expect(
      poll(async () => undefined, {
        timeoutMs: 0,
        intervalMs: 1,
        expired: () => {
          throw new Error('nothing happened');
        },
      }),
    ).rejects.toThrow('nothing happened');
  });
});

describe('retry', () => {
  it('retries only what is retriable, telling each retry', async () => {
    const seen: string[] = [];
    let n = 0;
    const value = await retry(
      async () => {
        if (++n < 3) throw new Error(`busy ${n}`);
        return n;
      },
      { timeoutMs: 5000, intervalMs: 1, retriable: () => true, onRetry: (e) => seen.push((e as Error).message) },
    );
    expect(value).toBe(3);
    expect(seen).toEqual(['busy 1', 'busy 2']);
    await expect(
      retry(
        async () => {
          throw new Error('fatal');
        },
        { timeoutMs: 5000, intervalMs: 1, retriable: () => false },
      ),
    ).rejects.toThrow('fatal');
  });

  it('throws the last retriable error once time is up', async () => {
    let n = 0;
    await expect(
      retry(
        async () => {
          throw new Error(`busy ${++n}`);
        },
        { timeoutMs: 20, intervalMs: 5, retriable: () => true },
      ),
    ).rejects.toThrow(/^busy \d+$/);
    expect(n).toBeGreaterThan(1);
  });

  it('keeps a falsy result (undefined, 0) as an answer', async () => {
    expect(await retry(async () => undefined, { timeoutMs: 10, intervalMs: 1, retriable: () => true })).toBeUndefined();
    expect(await retry(async () => 0, { timeoutMs: 10, intervalMs: 1, retriable: () => true })).toBe(0);
  });
});
