import type { Logger } from '../../shared/log.js';

/** At most this many addresses are named in one summary line. */
const NAMED = 8;

/**
 * Logs connections refused before the handshake without one line per junk connection: the first refusal
 * after a quiet interval is logged at once, the ones after it are summed up in one line per interval.
 */
export class RefusalLog {
  private count = 0;
  private readonly codes = new Map<string, number>();
  private readonly addresses = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  /** One refused connection from `address`, for `code`. */
  note(address: string, code: string): void {
    if (this.timer === undefined) {
      this.log.warn(
        { peer: address, code },
        `refused a peer connection before the handshake (${code}); more are summed up every ${this.intervalMs} ms`,
      );
      this.arm();
      return;
    }
    this.count += 1;
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    if (this.addresses.size < NAMED) this.addresses.add(address);
  }

  /** Stops the summary timer (the agent is stopping); what was held is logged now. */
  close(): void {
    clearTimeout(this.timer);
    this.flush(false);
  }

  private arm(): void {
    this.timer = setTimeout(() => this.flush(true), this.intervalMs);
    this.timer.unref();
  }

  private flush(rearm: boolean): void {
    this.timer = undefined;
    if (this.count === 0) return;
    this.log.warn(
      { refused: this.count, codes: Object.fromEntries(this.codes), addresses: [...this.addresses] },
      `refused ${this.count} more peer connections before the handshake in the last ${this.intervalMs} ms`,
    );
    this.count = 0;
    this.codes.clear();
    this.addresses.clear();
    // A flood that goes on gets one line per interval; once it stops, the next refusal is logged at once.
    if (rearm) this.arm();
  }
}
