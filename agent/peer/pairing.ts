import { PgduplexError, toPgduplexError } from '../../shared/errors.js';
import type { SecureChannel } from '../../shared/channel/secure-channel.js';
import { formatFingerprint, fingerprintOf } from '../../shared/crypto/fingerprint.js';
import type { TrustedPeer } from '../state/trust-store.js';
import { JoinerGate, type Joiner } from './joiner-gate.js';
import { dialPeer } from './link.js';
import type { PeerServiceDeps } from './peer-service.js';

/** A node name as it may be shown on the other screen and stored: no control characters, no spaces. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** How long the joining side waits for the other node's operator: a pairing window's lifetime and a margin. */
const PAIR_CONFIRM_MS = 11 * 60_000;

/** A readable check value both screens show after pairing: the same only if no one sat in between. */
export function checkValue(sessionId: string): string {
  const h = sessionId.slice(0, 8).toUpperCase();
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}

/** The check code and who of the last pairing, for pair.status on both screens. */
export interface PairingRecord {
  node: string;
  fingerprint: string;
  check: string;
  at: string;
}

/** Both sides of pairing: the joiner this node's operator confirms, and the dial that proves a token. */
export class Pairing {
  last: PairingRecord | undefined;
  readonly gate = new JoinerGate();
  private completing = 0;

  constructor(private readonly d: PeerServiceDeps) {}

  /** The accepting side: one pair.complete on a pairing channel admitted through window `windowId`. */
  async complete(
    channel: SecureChannel,
    address: string,
    windowId: string,
    action: string,
    params: unknown,
  ): Promise<unknown> {
    this.completing += 1;
    try {
      return await this.completeOnce(channel, address, windowId, action, params);
    } finally {
      this.completing -= 1;
    }
  }

  /** A joiner's pair.complete is still being decided: the window it used must keep its port until then. */
  get busy(): boolean {
    return this.completing > 0 || this.gate.waiting !== undefined;
  }

  private async completeOnce(
    channel: SecureChannel,
    address: string,
    windowId: string,
    action: string,
    params: unknown,
  ): Promise<unknown> {
    if (action !== 'pair.complete')
      throw new PgduplexError('UNKNOWN_ACTION', 'only pair.complete is allowed while pairing');
    if (!this.d.window.admitted(windowId))
      throw new PgduplexError('PAIRING_CLOSED', 'the pairing window this session came through is no longer open');
    const p = params as { node?: unknown; port?: unknown };
    if (
      typeof p.node !== 'string' ||
      !NODE_NAME.test(p.node) ||
      typeof p.port !== 'number' ||
      !Number.isInteger(p.port) ||
      p.port < 1 ||
      p.port > 65535
    ) {
      throw new PgduplexError(
        'BAD_PARAMS',
        'pair.complete needs a node name (letters, digits, . _ -, at most 64) and a port from 1 to 65535',
      );
    }
    const fingerprint = fingerprintOf(channel.keys.peerKey);
    const check = checkValue(channel.keys.sessionId);
    await this.confirmJoiner({ node: p.node, address, fingerprint, check });
    await this.d.trust.add({
      node: p.node,
      address,
      port: p.port,
      publicKey: Buffer.from(channel.keys.peerKey).toString('base64'),
      fingerprint,
      pairedAt: new Date().toISOString(),
    });
    // Before the window closes: whoever sees it closed by this pairing must see this session's check code.
    this.last = { node: p.node, fingerprint, check, at: new Date().toISOString() };
    await this.d.window.close();
    this.d.log.info({ peer: address, node: p.node, fingerprint: formatFingerprint(fingerprint) }, 'paired');
    return { node: this.d.node };
  }

  /**
   * Trust needs this node's operator: a joiner is let in only with the fingerprint given in advance, or
   * once the operator confirmed it; a refusal, a wrong key or no answer closes the window.
   */
  private async confirmJoiner(joiner: Joiner): Promise<void> {
    const expected = this.d.window.expectedFingerprint();
    const refuse = async (err: PgduplexError): Promise<never> => {
      await this.d.window.close();
      // The agent port pair --accept opened for the joiner's address closes with the window it served.
      await this.d.firewall.revoke(joiner.address).catch(() => undefined);
      this.d.log.warn(
        { peer: joiner.address, fingerprint: formatFingerprint(joiner.fingerprint), code: err.code },
        `pairing refused: ${err.message}`,
      );
      throw err;
    };
    if (expected !== undefined) {
      if (expected === joiner.fingerprint) return;
      return refuse(
        new PgduplexError(
          'PEER_KEY_MISMATCH',
          `the joining node's fingerprint is ${formatFingerprint(joiner.fingerprint)}, ` +
            `not the ${formatFingerprint(expected)} given`,
          {
            hint:
              'someone else may have the token: compare with "pgduplex whoami" on the node that should pair, ' +
              'then pair --accept again',
          },
        ),
      );
    }
    const accepted = await this.gate
      .wait(joiner, this.d.window.remainingMs())
      .catch((err: unknown) => refuse(toPgduplexError(err)));
    if (!accepted)
      return refuse(
        new PgduplexError('NOT_CONFIRMED', "the other node's operator refused the pairing", {
          hint: 'nothing was stored on either node',
        }),
      );
  }

  /** The connecting side of pairing: opens our port for the peer, proves the token, stores the peer. */
  async pairWith(
    address: string,
    port: number,
    token: { fingerprint: string; secret: Uint8Array },
    onCheck?: (check: string) => void,
  ): Promise<{ peer: TrustedPeer; check: string; firewallNote?: string }> {
    const existing = this.d.trust.peer;
    if (existing)
      throw new PgduplexError(
        'ALREADY_PAIRED',
        `this node is already paired with ${existing.node} (${existing.address})`,
        { hint: 'run "pgduplex unpair" first' },
      );
    const opened = await this.d.firewall.allow(address);
    try {
      const s = await dialPeer(
        { address, port },
        this.d.identity,
        { fingerprint: token.fingerprint, pairingSecret: token.secret },
        this.d.limits,
        undefined,
      );
      try {
        onCheck?.(checkValue(s.channel.keys.sessionId));
        // The other node's operator may take the window's 10 minutes to compare codes and confirm.
        const confirmMs = Math.max(this.d.limits.callTimeoutMs, PAIR_CONFIRM_MS);
        const r = (await s.rpc.callRaw(
          'pair.complete',
          { node: this.d.node, port: this.d.port },
          { timeoutMs: confirmMs },
        )) as { node?: unknown };
        const peer: TrustedPeer = {
          node: typeof r.node === 'string' && NODE_NAME.test(r.node) ? r.node : address,
          address,
          port,
          publicKey: Buffer.from(s.channel.keys.peerKey).toString('base64'),
          fingerprint: fingerprintOf(s.channel.keys.peerKey),
          pairedAt: new Date().toISOString(),
        };
        await this.d.trust.add(peer);
        const check = checkValue(s.channel.keys.sessionId);
        this.last = { node: peer.node, fingerprint: peer.fingerprint, check, at: peer.pairedAt };
        this.d.log.info({ peer: address, node: peer.node, fingerprint: formatFingerprint(peer.fingerprint) }, 'paired');
        return { peer, check, ...(opened.note === undefined ? {} : { firewallNote: opened.note }) };
      } finally {
        s.channel.close('pairing done');
      }
    } catch (err) {
      if (opened.changed) await this.d.firewall.revoke(address).catch(() => undefined);
      throw err;
    }
  }
}
