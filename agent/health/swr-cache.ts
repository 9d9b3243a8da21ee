/**
 * A single-flight, stale-while-revalidate cache: callers get the last value at once while one refresh
 * runs behind them, so a burst of requests never waits on, or multiplies, a slow probe.
 */
export class SwrCache<T> {
  private value: { at: number; data: T } | undefined;
  private inflight: Promise<T> | undefined;

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

  private refresh(): Promise<T> {
    this.inflight ??= this.load().then(
      (data) => {
        this.value = { at: this.now(), data };
        this.inflight = undefined;
        return data;
      },
      (err: unknown) => {
        this.inflight = undefined;
        throw err;
      },
    );
    return this.inflight;
  }
}
