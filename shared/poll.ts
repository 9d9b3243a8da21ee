import { setTimeout as sleep } from 'node:timers/promises';

/** One question a wait asks again and again: `undefined` means "not yet". */
export type Probe<T> = () => Promise<T | undefined>;

/** How long a wait lasts, how often it asks, and what it answers when time is up. */
export interface PollOptions<T> {
  timeoutMs: number;
  intervalMs: number;
  /** The answer once `timeoutMs` has passed: a fallback, or a thrown error that says what did not happen. */
  expired: () => T | Promise<T>;
}

/**
 * The one waiting loop in pgduplex: asks `probe` now, then every `intervalMs` (never sleeping past
 * the deadline, and asking once more at it) until it answers or the time is up.
 */
export async function poll<T>(probe: Probe<T>, o: PollOptions<T>): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined) return answer;
    const left = deadline - Date.now();
    if (left <= 0) return o.expired();
    await sleep(Math.min(o.intervalMs, left));
  }
}

/**
 * Runs `attempt` until it succeeds; an error `retriable` accepts is retried every `intervalMs` until
 * `timeoutMs` has passed, then thrown. `onRetry` hears each retriable error (to say what it waits for).
 */
export async function retry<T>(
  attempt: () => Promise<T>,
  o: { timeoutMs: number; intervalMs: number; retriable: (err: unknown) => boolean; onRetry?: (err: unknown) => void },
): Promise<T> {
  let last: unknown;
  const answer = await poll(
    async () => {
      try {
        return { value: await attempt() };
      } catch (err) {
        if (!o.retriable(err)) throw err;
        last = err;
        o.onRetry?.(err);
        return undefined;
      }
    },
    {
      timeoutMs: o.timeoutMs,
      intervalMs: o.intervalMs,
      expired: () => {
        throw last;
      },
    },
  );
  return answer.value;
}
