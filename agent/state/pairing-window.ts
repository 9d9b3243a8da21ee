import { join } from 'node:path';
import { z } from 'zod';
import { PgduplexError, type ErrorCode } from '../../shared/errors.js';
import { newToken, type PairingToken } from '../../shared/crypto/token.js';
import type { ClientClaim } from '../../shared/channel/handshake.js';
import { readPrivateJson, writePrivateJson } from './private-files.js';

const windowSchema = z.strictObject({
  expectedAddress: z.string(),
  secret: z.base64(),
  openedAt: z.string(),
  expiresAt: z.string(),
  failures: z.number().int().min(0),
  locked: z.boolean(),
  used: z.boolean(),
  /** The joiner's fingerprint when its operator gave it in advance (`pair --accept --fingerprint`). */
  expectedFingerprint: z.string().optional(),
  /** The agent port pair --accept opened for expectedAddress was closed again: the window ended unpaired. */
  portClosed: z.boolean().optional(),
});
const fileSchema = z.strictObject({ version: z.literal(1), window: windowSchema.nullable() });
type Window = z.infer<typeof windowSchema>;

const REFUSALS: Partial<Record<ErrorCode, string>> = {
  PAIRING_CLOSED: 'no pairing window is open on the other node',
  PAIRING_LOCKED: 'the pairing window is locked after too many wrong tokens',
  TOKEN_USED: 'this pairing token was already used',
  TOKEN_EXPIRED: 'the pairing token has expired',
};

/** Limits of a pairing window; options so tests and cautious operators can tighten them. */
export interface PairingLimits {
  ttlMs: number;
  maxFailures: number;
}

/**
 * The one-time pairing window `pgduplex pair --accept` opens: single use, expiring, and locked after
 * too many wrong proofs. Persisted (0600), so restarting the agent neither clears a lock nor a count.
 */
export class PairingWindow {
  private writes: Promise<void> = Promise.resolve();
  private lockListeners: Array<() => void> = [];

  private constructor(
    private readonly path: string,
    private window: Window | null,
    private readonly limits: PairingLimits,
    private readonly now: () => number,
  ) {}

  static async load(stateDir: string, limits: PairingLimits, now: () => number = Date.now): Promise<PairingWindow> {
    const path = join(stateDir, 'pairing.json');
    const parsed = fileSchema.safeParse((await readPrivateJson(path)) ?? { version: 1, window: null });
    return new PairingWindow(path, parsed.success ? parsed.data.window : null, limits, now);
  }

  /** Opens (or reopens, which clears a lock) the window for one peer address; returns the token. */
  async open(
    expectedAddress: string,
    fingerprint: string,
    expectedFingerprint?: string,
  ): Promise<{ token: PairingToken; expiresAt: string }> {
    const token = newToken(fingerprint);
    const now = this.now();
    this.window = {
      expectedAddress,
      secret: Buffer.from(token.secret).toString('base64'),
      openedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.limits.ttlMs).toISOString(),
      failures: 0,
      locked: false,
      used: false,
      ...(expectedFingerprint === undefined ? {} : { expectedFingerprint }),
    };
    await this.persist();
    return { token, expiresAt: this.window.expiresAt };
  }

  async close(): Promise<void> {
    this.window = null;
    await this.persist();
  }

  /** The joiner's fingerprint given in advance, if any: then no interactive confirmation is needed. */
  expectedFingerprint(): string | undefined {
    return this.window?.expectedFingerprint;
  }

  /** How long the window has left (0 when none is open): the time an operator has to confirm a joiner. */
  remainingMs(): number {
    return this.window === null ? 0 : Math.max(0, Date.parse(this.window.expiresAt) - this.now());
  }

  /** Waits until every state change so far is on disk. */
  flushed(): Promise<void> {
    return this.writes;
  }

  /** Whether the window admitted as `id` (what `admit` returned) is still the one open here, used by that admission. */
  admitted(id: string): boolean {
    return this.window !== null && this.window.used && this.window.openedAt === id;
  }

  /**
   * What the address alone decides, before any crypto: undefined when the window is open for it, else the
   * code to refuse with (the window's state only for its own address).
   */
  refusalFor(address: string): ErrorCode | undefined {
    const w = this.window;
    if (w === null) return 'PAIRING_CLOSED';
    if (address !== w.expectedAddress) return 'PEER_NOT_TRUSTED';
    if (w.locked) return 'PAIRING_LOCKED';
    if (w.used) return 'TOKEN_USED';
    if (this.now() > Date.parse(w.expiresAt)) return 'TOKEN_EXPIRED';
    return undefined;
  }

  /**
   * Decides a pairing attempt from `remoteAddress`; throws the reason, counts wrong proofs; returns the window's
   * id. A wrong proof's count (and a use) is on disk, fsynced, before this settles: a crash cannot forget it.
   */
  async admit(claim: ClientClaim, remoteAddress: string): Promise<string> {
    const w = this.window;
    const refused = this.refusalFor(remoteAddress);
    if (w === null || refused !== undefined) {
      const code = refused ?? 'PAIRING_CLOSED';
      throw new PgduplexError(code, REFUSALS[code] ?? `pairing is open for ${w?.expectedAddress ?? 'nobody'} only`);
    }
    if (!claim.proofMatches(new Uint8Array(Buffer.from(w.secret, 'base64')))) {
      w.failures += 1;
      if (w.failures >= this.limits.maxFailures) w.locked = true;
      // A count that cannot be stored locks the window: a guesser must not get attempts a restart forgets.
      await this.persist().catch(() => void (w.locked = true));
      if (w.locked) for (const l of this.lockListeners) l();
      throw new PgduplexError('TOKEN_INVALID', 'the pairing token is wrong');
    }
    w.used = true;
    await this.persist();
    return w.openedAt;
  }

  /** Called once a window locked (its lock on disk): the agent port it opened can close. */
  onLocked(listener: () => void): void {
    this.lockListeners.push(listener);
  }

  /** The open or ended window's address and state, for closing the port it opened; null when none. */
  current(): Readonly<Window> | null {
    return this.window;
  }

  /** Records that the agent port opened for the window `id` (its openedAt) was closed again. */
  async markPortClosed(id: string): Promise<void> {
    if (this.window === null || this.window.openedAt !== id) return;
    this.window.portClosed = true;
    await this.persist();
  }

  /** What `pgduplex pair --accept` and status show; never the secret. */
  describe(): {
    open: boolean;
    expectedAddress?: string;
    expiresAt?: string;
    failures?: number;
    locked?: boolean;
    used?: boolean;
    confirmedInAdvance?: boolean;
  } {
    const w = this.window;
    if (w === null) return { open: false };
    const open = !w.used && !w.locked && this.now() <= Date.parse(w.expiresAt);
    return {
      open,
      expectedAddress: w.expectedAddress,
      expiresAt: w.expiresAt,
      failures: w.failures,
      locked: w.locked,
      used: w.used,
      confirmedInAdvance: w.expectedFingerprint !== undefined,
    };
  }

  /** Queues a write of the current state; a failed write does not block the ones after it. */
  private persist(): Promise<void> {
    const snapshot = { version: 1, window: this.window };
    const write = this.writes.catch(() => undefined).then(() => writePrivateJson(this.path, snapshot));
    this.writes = write;
    write.catch(() => undefined);
    return write;
  }
}
