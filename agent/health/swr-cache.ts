/**
 * A single-flight, stale-while-revalidate cache: callers get the last value at once while one refresh
 * runs behind them, so a burst of requests never waits on, or multiplies, a slow probe. A value's age
 * counts from the moment its load started, since that is the moment it describes.
 */
export class SwrCache<T> {
  private value: { at: number; data: T } | undefined;
  private inflight: { at: number; promise: Promise<T> } | undefined;

  /** `freshMs`: age before a refresh starts; `maxStaleMs`: age past which callers wait for a fresh value. */
  constructor(
    private readonly load: () => Promise<T>,
    private readonly freshMs: number,
    private readonly maxStaleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    const age = this.value === undefined ? Infinity : this.now() - this.value.at;
    if (age < this.freshMs && this.value) return Promise.resolve(this.value.data);
    const refresh = this.refresh();
    if (age <= this.maxStaleMs && this.value) {
      refresh.catch(() => undefined);
      return Promise.resolve(this.value.data);
    }
    return refresh;
  }

  /**
   * A value whose load started at most `maxAgeMs` before this call: the cached one, the load in flight,
   * or a new load once an older one in flight has finished. For verdicts that must not lag (readiness).
   */
  async getFresh(maxAgeMs: number): Promise<T> {
    const since = this.now() - maxAgeMs;
    if (this.value && this.value.at >= since) return this.value.data;
    if (this.inflight && this.inflight.at < since) await this.inflight.promise.catch(() => undefined);
    if (this.value && this.value.at >= since) return this.value.data;
    return this.refresh();
  }

  /** When the cached value's load started (ms, the cache's clock), or undefined before the first one. */
  loadedAt(): number | undefined {
    return this.value?.at;
  }

  private refresh(): Promise<T> {
    if (this.inflight) return this.inflight.promise;
    const at = this.now();
    const promise = this.load().then(
      (data) => {
        if (this.value === undefined || this.value.at <= at) this.value = { at, data };
        this.inflight = undefined;
        return data;
      },
      (err: unknown) => {
        this.inflight = undefined;
        throw err;
      },
    );
    this.inflight = { at, promise };
    return promise;
  }
}
