import { PgduplexError, toPgduplexError } from '../../shared/errors.js';
import type { ClientClaim } from '../../shared/channel/handshake.js';
import { RpcEndpoint, type Dispatch } from '../../shared/channel/rpc.js';
import { SecureChannel, type ChannelLimits } from '../../shared/channel/secure-channel.js';
import type { Transport } from '../../shared/channel/transport.js';
import { formatFingerprint, fingerprintOf } from '../../shared/crypto/fingerprint.js';
import type { Logger } from '../../shared/log.js';
import { pingAction, peerUnpairAction } from '../../shared/protocol/actions.js';
import { VERSION } from '../../shared/version.js';
import type { AgentServices } from '../actions/context.js';
import type { TrustedPeer } from '../state/trust-store.js';
import { JoinerGate, type Joiner } from './joiner-gate.js';
import { dialPeer, type PeerSession } from './link.js';

/** A node name as it may be shown on the other screen and stored: no control characters, no spaces. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** How long the joining side waits for the other node's operator: a pairing window's lifetime and a margin. */
const PAIR_CONFIRM_MS = 11 * 60_000;

/** Opens and closes the agent port for one peer address; the firewall layer implements it. */
export interface PeerFirewall {
  /** `note` says what the operator should know, e.g. that the rule will not survive a reboot. */
  allow(address: string): Promise<{ changed: boolean; note?: string }>;
  revoke(address: string): Promise<{ changed: boolean }>;
}

/** Everything the peer service needs, injected so session tests can run it without a node. */
export interface PeerServiceDeps extends Omit<AgentServices, 'peers' | 'limits' | 'journal' | 'postgresql'> {
  limits: ChannelLimits & { connectTimeoutMs: number; callTimeoutMs: number; heartbeatMs?: number };
  log: Logger;
  /** Actions the peer may run here (the registry's dispatch, origin 'peer'). */
  dispatch: Dispatch;
}

/** A readable check value both screens show after pairing: the same only if no one sat in between. */
export function checkValue(sessionId: string): string {
  const h = sessionId.slice(0, 8).toUpperCase();
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}

/** Owns the pairing and the sessions with the one peer: incoming, outgoing, and their teardown. */
export class PeerService {
  private link: Promise<PeerSession> | undefined;
  private readonly incoming = new Set<SecureChannel>();
  lastPairing: { node: string; fingerprint: string; check: string; at: string } | undefined;
  /** A joiner waiting for this node's operator to confirm it. */
  readonly gate = new JoinerGate();

  constructor(private readonly d: PeerServiceDeps) {}

  /** How long a relayed call may take before the caller gets TIMEOUT. */
  get callTimeoutMs(): number {
    return this.d.limits.callTimeoutMs;
  }

  /** Runs the server side of a handshake on a new connection; refused clients never reach dispatch. */
  async accept(transport: Transport): Promise<void> {
    const log = this.d.log.child({ peer: transport.remoteAddress });
    const authorize = (claim: ClientClaim): boolean => {
      if (claim.mode === 'session') {
        const peer = this.d.trust.peer;
        if (!peer || !this.d.trust.trusts(claim.clientKey) || peer.address !== transport.remoteAddress) {
          throw new PgduplexError('PEER_NOT_TRUSTED', 'unknown peer key or address');
        }
        return true;
      }
      const paired = this.d.trust.peer;
      if (paired && !this.d.trust.trusts(claim.clientKey))
        throw new PgduplexError('ALREADY_PAIRED', `already paired with ${paired.node}`);
      windowId = this.d.window.admit(claim, transport.remoteAddress);
      return true;
    };
    let windowId: string | undefined;
    let channel: SecureChannel;
    try {
      channel = await SecureChannel.accept(transport, this.d.identity, authorize, this.d.limits, {
        type: 'hello',
        node: this.d.node,
        version: VERSION,
      });
    } catch (err) {
      const e = toPgduplexError(err);
      log.warn({ code: e.code }, `refused a peer connection: ${e.message}`);
      return;
    }
    const fp = formatFingerprint(fingerprintOf(channel.keys.peerKey));
    if (channel.keys.mode === 'pairing') {
      log.info({ fingerprint: fp, session: channel.keys.sessionId }, 'pairing handshake accepted');
      // One pair.complete per pairing channel, for the window it was admitted through; then it closes.
      const admittedAs = windowId ?? '';
      let asked = false;
      this.incoming.add(channel);
      channel.onClose(() => this.incoming.delete(channel));
      new RpcEndpoint(channel, async (action, params) => {
        if (asked) throw new PgduplexError('PAIRING_CLOSED', 'this pairing session already asked once');
        asked = true;
        try {
          return await this.completePairing(channel, transport.remoteAddress, admittedAs, action, params);
        } finally {
          setTimeout(() => channel.close('pairing done'), 100).unref();
        }
      });
      return;
    }
    log.info({ fingerprint: fp, session: channel.keys.sessionId }, 'peer session opened');
    this.incoming.add(channel);
    channel.onClose(() => this.incoming.delete(channel));
    new RpcEndpoint(channel, this.served(log));
  }

  /** The registry's dispatch with a logger bound to the peer, the action and the request. */
  private served(log: Logger): Dispatch {
    let n = 0;
    return (action, params, ctx) =>
      this.d.dispatch(action, params, {
        ...ctx,
        log: log.child({ action: action.slice(0, 64), requestId: `p${++n}` }),
      });
  }

  private async completePairing(
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
    this.lastPairing = { node: p.node, fingerprint, check, at: new Date().toISOString() };
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
        this.lastPairing = { node: peer.node, fingerprint: peer.fingerprint, check, at: peer.pairedAt };
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

  /** A session to the paired peer, opened on first use and reopened after it drops. */
  session(): Promise<PeerSession> {
    const peer = this.d.trust.peer;
    if (!peer)
      return Promise.reject(
        new PgduplexError('NOT_PAIRED', 'this node is not paired', {
          hint: 'pair it first: pgduplex pair --accept / pgduplex pair',
        }),
      );
    if (this.link) return this.link;
    const link = dialPeer(
      peer,
      this.d.identity,
      { peerKey: new Uint8Array(Buffer.from(peer.publicKey, 'base64')) },
      this.d.limits,
      this.served(this.d.log.child({ peer: peer.address })),
    );
    this.link = link;
    link.then(
      (s) => s.channel.onClose(() => this.link === link && (this.link = undefined)),
      () => this.link === link && (this.link = undefined),
    );
    return link;
  }

  /** Round trip to the peer with its answer; errors are returned, not thrown, for `pgduplex peers`. */
  async probe(): Promise<{ reachable: boolean; rttMs?: number; node?: string; version?: string; error?: string }> {
    const started = performance.now();
    try {
      const s = await this.session();
      const r = await s.rpc.call(pingAction, {}, { timeoutMs: this.d.limits.callTimeoutMs });
      return {
        reachable: true,
        rttMs: Math.round((performance.now() - started) * 100) / 100,
        node: r.node,
        version: r.version,
      };
    } catch (err) {
      return { reachable: false, error: toPgduplexError(err).message };
    }
  }

  /** Removes the pairing here (and, when asked, on the peer first), closes sessions and our port. */
  async unpair(
    notifyPeer: boolean,
    opts: { deferClose?: boolean } = {},
  ): Promise<{ removed: TrustedPeer | undefined; peerConfirmed: boolean }> {
    const peer = this.d.trust.peer;
    if (!peer) return { removed: undefined, peerConfirmed: false };
    let peerConfirmed = false;
    if (notifyPeer) {
      try {
        const s = await this.session();
        peerConfirmed = (await s.rpc.call(peerUnpairAction, {}, { timeoutMs: this.d.limits.callTimeoutMs })).removed;
      } catch (err) {
        this.d.log.warn({ code: toPgduplexError(err).code }, 'could not tell the peer about the unpairing');
      }
    }
    await this.d.trust.remove();
    this.lastPairing = undefined;
    await this.d.firewall.revoke(peer.address);
    const closeSessions = (): void => {
      const link = this.link;
      this.link = undefined;
      if (link)
        void link.then(
          (s) => s.channel.close('unpaired'),
          () => undefined,
        );
      for (const ch of this.incoming) ch.close('unpaired');
    };
    // When the peer asked, its answer must leave on the session before that session closes.
    if (opts.deferClose) setTimeout(closeSessions, 100).unref();
    else closeSessions();
    this.d.log.info({ peer: peer.address, node: peer.node }, 'unpaired');
    return { removed: peer, peerConfirmed };
  }

  /** Closes every session, for shutdown. */
  closeAll(): void {
    void this.link?.then(
      (s) => s.channel.close('agent stopping'),
      () => undefined,
    );
    for (const ch of this.incoming) ch.close('agent stopping');
  }
}
