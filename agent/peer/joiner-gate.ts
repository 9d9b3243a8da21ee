import { PgduplexError } from '../../shared/errors.js';
import { formatFingerprint, normalizeFingerprint } from '../../shared/crypto/fingerprint.js';

/** A node that proved the pairing token and waits to be trusted. */
export interface Joiner {
  node: string;
  address: string;
  fingerprint: string;
  check: string;
}

/**
 * Holds a joiner until this node's operator confirms it (`pair.confirm`, after comparing the check code
 * both screens show) or refuses it: a token alone never makes this node trust anyone (Syncthing's
 * mutual device confirmation). One joiner at a time; the pairing window allows one.
 */
export class JoinerGate {
  private pending: { joiner: Joiner; decide: (accept: boolean) => void } | undefined;

  /** The joiner waiting for a decision, for `pair.status`. */
  get waiting(): Joiner | undefined {
    return this.pending?.joiner;
  }

  /** Resolves true once confirmed, false once refused; PAIRING_CLOSED when nobody decided within `timeoutMs`. */
  wait(joiner: Joiner, timeoutMs: number): Promise<boolean> {
    if (this.pending)
      throw new PgduplexError(
        'BUSY',
        `another node (${this.pending.joiner.address}) is already waiting to be confirmed`,
      );
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.pending = undefined;
          reject(
            new PgduplexError('PAIRING_CLOSED', "the other node's operator did not confirm the pairing in time", {
              hint: 'run "pgduplex pair --accept" there again',
            }),
          );
        },
        Math.max(0, timeoutMs),
      );
      timer.unref();
      this.pending = {
        joiner,
        decide: (accept) => {
          clearTimeout(timer);
          this.pending = undefined;
          resolve(accept);
        },
      };
    });
  }

  /** The operator's decision on the joiner with this fingerprint (as `pgduplex whoami` prints it on the joiner). */
  decide(fingerprint: string, accept: boolean): Joiner {
    const p = this.pending;
    if (!p)
      throw new PgduplexError('NOT_FOUND', 'no node is waiting to be confirmed', {
        hint: 'run "pgduplex pair <address> -" on the other node first',
      });
    if (normalizeFingerprint(fingerprint) !== p.joiner.fingerprint) {
      throw new PgduplexError(
        'PEER_KEY_MISMATCH',
        `the node waiting is ${formatFingerprint(p.joiner.fingerprint)}, not ${fingerprint}`,
        { hint: 'nothing was decided' },
      );
    }
    p.decide(accept);
    return p.joiner;
  }
}
