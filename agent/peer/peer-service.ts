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
import type { JoinerGate } from './joiner-gate.js';
import { dialPeer, type PeerSession } from './link.js';
import { Pairing, type PairingRecord } from './pairing.js';
import { WindowPort } from './window-port.js';

export { checkValue } from './pairing.js';

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

/** Owns the pairing and the sessions with the one peer: incoming, outgoing, and their teardown. */
export class PeerService {
  private link: Promise<PeerSession> | undefined;
  private readonly incoming = new Set<SecureChannel>();
  /** Pairing's part: the joiner waiting for this node's operator, and the last pairing's check code. */
  private readonly pairing: Pairing;

  /** The agent port pair --accept opens, closed again when its window ends unpaired. */
  readonly windowPort: WindowPort;

  constructor(private readonly d: PeerServiceDeps) {
    this.pairing = new Pairing(d);
    this.windowPort = new WindowPort({ ...d, busy: () => this.pairing.busy });
  }

  get lastPairing(): PairingRecord | undefined {
    return this.pairing.last;
  }

  set lastPairing(value: PairingRecord | undefined) {
    this.pairing.last = value;
  }

  /** A joiner waiting for this node's operator to confirm it. */
  get gate(): JoinerGate {
    return this.pairing.gate;
  }

  /** The connecting side of pairing (see Pairing.pairWith). */
  pairWith(...args: Parameters<Pairing['pairWith']>): ReturnType<Pairing['pairWith']> {
    return this.pairing.pairWith(...args);
  }

  /** How long a relayed call may take before the caller gets TIMEOUT. */
  get callTimeoutMs(): number {
    return this.d.limits.callTimeoutMs;
  }

  /** Runs the server side of a handshake on a new connection; refused clients never reach dispatch. */
  async accept(transport: Transport): Promise<void> {
    const log = this.d.log.child({ peer: transport.remoteAddress });
    const authorize = async (claim: ClientClaim): Promise<boolean> => {
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
      windowId = await this.d.window.admit(claim, transport.remoteAddress);
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
          return await this.pairing.complete(channel, transport.remoteAddress, admittedAs, action, params);
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
    this.windowPort.stop();
    void this.link?.then(
      (s) => s.channel.close('agent stopping'),
      () => undefined,
    );
    for (const ch of this.incoming) ch.close('agent stopping');
  }
}
