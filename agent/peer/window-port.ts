import { toPgduplexError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { PairingWindow } from '../state/pairing-window.js';
import type { PeerFirewall } from './peer-service.js';

/** What closing the pairing window's port needs; `busy` is true while a joiner's pairing is still deciding. */
export interface WindowPortDeps {
  window: PairingWindow;
  trust: { readonly peer: { address: string } | undefined };
  firewall: PeerFirewall;
  log: Logger;
  busy: () => boolean;
  now?: () => number;
}

/** How long a window that ended while a joiner was still deciding waits before it looks again. */
const RECHECK_MS = 1000;

/**
 * The agent port `pair --accept` opens for the window's address, closed again once that window can no longer
 * pair — expired, locked, or used by a pairing that never finished — unless the address is the trusted peer's,
 * whose sessions use the same rule. The window (on disk) is written before the port opens and records the
 * close, so an agent that crashed or was stopped in between closes the port when it starts.
 */
export class WindowPort {
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly d: WindowPortDeps) {
    this.now = d.now ?? Date.now;
    d.window.onLocked(() => void this.settle());
  }

  /** Opens a window for `address`, then the port for it; a window it replaces for another address loses its port. */
  open(
    address: string,
    fingerprint: string,
    expectedFingerprint?: string,
  ): Promise<Awaited<ReturnType<PairingWindow['open']>> & { firewall: { changed: boolean; note?: string } }> {
    return this.serial(async () => {
      const prior = this.d.window.current();
      const opened = await this.d.window.open(address, fingerprint, expectedFingerprint);
      if (prior && !prior.portClosed && prior.expectedAddress !== address) await this.revoke(prior.expectedAddress);
      try {
        const firewall = await this.d.firewall.allow(address);
        this.watch();
        return { ...opened, firewall };
      } catch (err) {
        await this.d.window.close();
        await this.revoke(address).catch(() => undefined);
        throw err;
      }
    });
  }

  /** Arms the check for the window's end; at start-up it also finds a window that ended while the agent was down. */
  watch(): void {
    clearTimeout(this.timer);
    const w = this.d.window.current();
    if (w === null || w.portClosed) return;
    const left = Date.parse(w.expiresAt) - this.now();
    if (w.locked || left < 0) return void this.settle();
    this.timer = setTimeout(() => void this.settle(), left + 1).unref();
  }

  /** Closes the port if the window ended unpaired; errors are logged, never thrown (a timer calls it). */
  settle(): Promise<void> {
    return this.serial(() => this.closeIfEnded()).catch((err: unknown) => {
      const e = toPgduplexError(err);
      this.d.log.warn({ code: e.code }, `could not close the agent port of an ended pairing window: ${e.message}`);
    });
  }

  /** Stops the timer, for shutdown. */
  stop(): void {
    clearTimeout(this.timer);
  }

  private async closeIfEnded(): Promise<void> {
    const w = this.d.window.current();
    if (w === null || w.portClosed) return;
    const expired = this.now() > Date.parse(w.expiresAt);
    if (!w.locked && !expired) return this.watch();
    if (w.used && this.d.busy()) {
      this.timer = setTimeout(() => void this.settle(), RECHECK_MS).unref();
      return;
    }
    const id = w.openedAt;
    const changed = await this.revoke(w.expectedAddress);
    await this.d.window.markPortClosed(id);
    if (changed)
      this.d.log.info(
        { peer: w.expectedAddress, why: w.locked ? 'locked' : 'expired' },
        'pairing window ended; closed the agent port it opened',
      );
  }

  /** Revokes the agent port for `address` unless the trusted peer is there: its sessions need that rule. */
  private async revoke(address: string): Promise<boolean> {
    if (this.d.trust.peer?.address === address) return false;
    return (await this.d.firewall.revoke(address)).changed;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
