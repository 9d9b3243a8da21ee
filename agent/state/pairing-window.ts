import { join } from 'node:path';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
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
});
const fileSchema = z.strictObject({ version: z.literal(1), window: windowSchema.nullable() });
type Window = z.infer<typeof windowSchema>;

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
   * Decides a pairing attempt from `remoteAddress`; throws the reason, counts wrong proofs; returns the window's
   * id.
   */
  admit(claim: ClientClaim, remoteAddress: string): string {
    const w = this.window;
    if (w === null) throw new PgduplexError('PAIRING_CLOSED', 'no pairing window is open on the other node');
    if (w.locked) throw new PgduplexError('PAIRING_LOCKED', 'the pairing window is locked after too many wrong tokens');
    if (w.used) throw new PgduplexError('TOKEN_USED', 'this pairing token was already used');
    if (this.now() > Date.parse(w.expiresAt)) throw new PgduplexError('TOKEN_EXPIRED', 'the pairing token has expired');
    if (remoteAddress !== w.expectedAddress)
      throw new PgduplexError('PEER_NOT_TRUSTED', `pairing is open for ${w.expectedAddress} only`);
    if (!claim.proofMatches(new Uint8Array(Buffer.from(w.secret, 'base64')))) {
      w.failures += 1;
      if (w.failures >= this.limits.maxFailures) w.locked = true;
      void this.persist();
      throw new PgduplexError('TOKEN_INVALID', 'the pairing token is wrong');
    }
    w.used = true;
    void this.persist();
    return w.openedAt;
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
