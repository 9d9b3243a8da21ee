// The handshake's transport loop, apart from the channel it produces: steps in order, a refusal the
// accepting side may state in the clear, and one time limit for the whole exchange.
import { PgduplexError, toPgduplexError, type ErrorCode } from '../errors.js';
import type { ChannelLimits, SecureChannel } from './secure-channel.js';
import type { Transport } from './transport.js';

/** WebSocket close code for policy violations: what every protocol failure closes with. */
export const CLOSE_POLICY = 1008;

/**
 * Reasons the accepting side may state, unencrypted, before closing a refused handshake (a 2-byte
 * message 0x7e, n): the operator on the connecting side then learns which and what to do.
 */
const REJECT_CODES: readonly ErrorCode[] = [
  'PEER_NOT_TRUSTED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_USED',
  'PAIRING_LOCKED',
  'PAIRING_CLOSED',
  'ALREADY_PAIRED',
  'PROTOCOL_MISMATCH',
];
const REJECT_HINTS: Partial<Record<ErrorCode, string>> = {
  PEER_NOT_TRUSTED: 'this node is not paired with the other one (pgduplex peers on both; pair again if needed)',
  TOKEN_INVALID: 'check the token; after 5 wrong tokens the window locks',
  TOKEN_EXPIRED: 'run "pgduplex pair --accept" on the other node again for a fresh token',
  TOKEN_USED: 'each token works once; run "pgduplex pair --accept" on the other node again',
  PAIRING_LOCKED: 'too many wrong tokens: run "pgduplex pair --accept" on the other node again to reopen',
  PAIRING_CLOSED: 'run "pgduplex pair --accept <this node\'s address>" on the other node first',
  ALREADY_PAIRED: 'the other node is paired with another node; run "pgduplex unpair" there first',
};

/** One handshake message in, numbered from 1 (0 starts the side that speaks first). */
export type Step = { n: number; data: Uint8Array };
/** What a step asks for next: nothing, the server's hello on this channel, or the finished channel. */
export type StepResult = void | undefined | { awaitHello: SecureChannel } | { done: SecureChannel };
type Settled = Exclude<StepResult, void | undefined>;

function rejection(data: Uint8Array): PgduplexError | undefined {
  if (data.length !== 2 || data[0] !== 0x7e) return undefined;
  return refusalError(REJECT_CODES[(data[1] ?? 0) - 1]);
}

/** The connecting side's error for a refusal the accepting side stated (in the handshake or at the upgrade). */
export function refusalError(stated: string | undefined): PgduplexError {
  const code = REJECT_CODES.find((c) => c === stated);
  if (code === undefined) return new PgduplexError('HANDSHAKE_FAILED', 'the peer refused the handshake');
  const hint = REJECT_HINTS[code];
  return new PgduplexError(
    code,
    `the peer refused: ${code.toLowerCase().replace(/_/g, ' ')}`,
    hint === undefined ? {} : { hint },
  );
}

/** Drives a handshake over the transport to its end, a refusal, a closed connection or the time limit. */
export function runHandshake(
  transport: Transport,
  limits: ChannelLimits,
  isServer: boolean,
  step: (s: Step, send: (d: Uint8Array) => void) => StepResult | Promise<Settled>,
): Promise<SecureChannel> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let pending: SecureChannel | undefined;
    let settled = false;
    /** A step that waits (the server's authorize): nothing more may arrive until it has decided. */
    let deciding = false;
    const take = (r: StepResult): void => {
      if (r && 'awaitHello' in r) pending = r.awaitHello;
      if (r && 'done' in r) {
        settled = true;
        clearTimeout(timer);
        resolve(r.done.activate());
      }
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const e = toPgduplexError(err);
      const n = REJECT_CODES.indexOf(e.code);
      if (isServer && n >= 0) transport.send(Uint8Array.of(0x7e, n + 1));
      transport.close(CLOSE_POLICY, e.code);
      reject(e);
    };
    const timer = setTimeout(
      () => fail(new PgduplexError('TIMEOUT', `handshake did not complete within ${limits.handshakeTimeoutMs} ms`)),
      limits.handshakeTimeoutMs,
    );
    const advance = (data: Uint8Array): void => {
      if (settled) return;
      try {
        const refused = isServer ? undefined : rejection(data);
        if (refused) throw refused;
        if (pending) {
          const hello = pending.openFirst(data);
          if (hello.type !== 'hello') throw new PgduplexError('HANDSHAKE_FAILED', 'peer did not confirm the session');
          pending.peerHello = hello;
          settled = true;
          clearTimeout(timer);
          resolve(pending.activate());
          return;
        }
        if (deciding) throw new PgduplexError('HANDSHAKE_FAILED', 'the peer sent more before the handshake settled');
        const r = step({ n: ++n, data }, (d) => transport.send(d));
        if (!(r instanceof Promise)) return take(r);
        deciding = true;
        r.then(
          (done) => {
            deciding = false;
            if (!settled) take(done);
          },
          (err: unknown) => fail(err),
        );
      } catch (err) {
        fail(err);
      }
    };
    transport.onMessage((data) => {
      if (!settled) advance(data);
    });
    transport.onClose(() =>
      fail(new PgduplexError('HANDSHAKE_FAILED', 'the peer closed the connection during the handshake')),
    );
    try {
      step({ n: 0, data: new Uint8Array(0) }, (d) => transport.send(d));
    } catch (err) {
      fail(err);
    }
  });
}
