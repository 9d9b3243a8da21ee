import { PgduplexError } from '../errors.js';
import type { ChannelMessage } from '../protocol/messages.js';
import { CLIENT_TO_SERVER, FrameOpener, FrameSealer, SERVER_TO_CLIENT } from './frames.js';
import {
  ClientHandshake,
  ServerHandshake,
  type ClientClaim,
  type HandshakeMode,
  type Identity,
  type SessionKeys,
} from './handshake.js';
import { CHUNK_HEADER_BYTES, decodePayload, encodeChunk, encodeMessage, type Chunk } from './payload.js';
import { CLOSE_POLICY, runHandshake } from './handshake-run.js';
import type { Transport } from './transport.js';

/** Limits of one channel; they come from the agent's config. */
export interface ChannelLimits {
  handshakeTimeoutMs: number;
  maxFrameBytes: number;
}

/** An authenticated, encrypted message channel; nothing is delivered before the handshake completes. */
export class SecureChannel {
  private listeners: Array<(m: ChannelMessage) => void> = [];
  private chunkListeners: Array<(c: Chunk) => void> = [];
  private closeListeners: Array<(reason: PgduplexError | undefined) => void> = [];
  private closed = false;

  private constructor(
    private readonly transport: Transport,
    private readonly sealer: FrameSealer,
    private readonly opener: FrameOpener,
    readonly keys: SessionKeys & { mode: HandshakeMode },
    private readonly maxFrameBytes: number,
  ) {}

  /** Starts delivering frames; called once the handshake has settled, never before. */
  activate(): this {
    this.transport.onMessage((data) => this.receive(data));
    this.transport.onClose(() => this.finish(undefined));
    return this;
  }

  /** A channel over keys a handshake produced; inactive until `activate()`. */
  static fromKeys(
    transport: Transport,
    keys: SessionKeys & { mode: HandshakeMode },
    role: 'client' | 'server',
    limits: ChannelLimits,
  ): SecureChannel {
    const [out, back] = role === 'client' ? [CLIENT_TO_SERVER, SERVER_TO_CLIENT] : [SERVER_TO_CLIENT, CLIENT_TO_SERVER];
    return new SecureChannel(
      transport,
      new FrameSealer(keys.send, out, limits.maxFrameBytes),
      new FrameOpener(keys.receive, back, limits.maxFrameBytes),
      keys,
      limits.maxFrameBytes,
    );
  }

  /** The connecting side: runs the handshake and resolves once the server has confirmed it. */
  static connect(
    transport: Transport,
    identity: Identity,
    expect: ConstructorParameters<typeof ClientHandshake>[1],
    limits: ChannelLimits,
  ): Promise<SecureChannel> {
    const hs = new ClientHandshake(identity, expect);
    return runHandshake(transport, limits, false, (step, send) => {
      if (step.n === 0) return send(hs.start());
      if (step.n === 1) {
        const { m3, keys } = hs.finish(step.data);
        send(m3);
        const ch = SecureChannel.fromKeys(
          transport,
          { ...keys, mode: 'pairingSecret' in expect ? 'pairing' : 'session' },
          'client',
          limits,
        );
        return { awaitHello: ch };
      }
      return undefined;
    });
  }

  /**
   * The accepting side: answers the handshake, asks `authorize` about the client (it may wait, e.g. for a
   * failure count to reach the disk before the refusal goes out), then confirms.
   */
  static accept(
    transport: Transport,
    identity: Identity,
    authorize: (claim: ClientClaim) => boolean | Promise<boolean>,
    limits: ChannelLimits,
    hello: ChannelMessage,
  ): Promise<SecureChannel> {
    const hs = new ServerHandshake(identity);
    return runHandshake(transport, limits, true, (step, send) => {
      if (step.n === 0) return undefined;
      if (step.n === 1) return send(hs.respond(step.data));
      const claim = hs.verify(step.data);
      return Promise.resolve(authorize(claim)).then((ok) => {
        if (!ok) throw new PgduplexError('PEER_NOT_TRUSTED', 'the client is not a paired peer');
        const ch = SecureChannel.fromKeys(transport, hs.derive(), 'server', limits);
        ch.send(hello);
        return { done: ch };
      });
    });
  }

  /** Seals and sends one message; a message too large for one frame is a typed error. */
  send(message: ChannelMessage): void {
    if (this.closed) throw new PgduplexError('AGENT_UNREACHABLE', 'the peer channel is closed');
    this.transport.send(this.sealer.seal(encodeMessage(message)));
  }

  /** Seals and sends one stream chunk; resolves once the transport has written it (backpressure). */
  sendChunk(chunk: Chunk): Promise<void> {
    if (this.closed) return Promise.reject(new PgduplexError('AGENT_UNREACHABLE', 'the peer channel is closed'));
    const frame = this.sealer.seal(encodeChunk(chunk));
    return new Promise((resolve) => this.transport.send(frame, resolve));
  }

  /** Largest chunk payload one frame can carry. */
  get maxChunkBytes(): number {
    return this.maxFrameBytes - CHUNK_HEADER_BYTES;
  }

  onMessage(listener: (m: ChannelMessage) => void): void {
    this.listeners.push(listener);
  }

  onChunk(listener: (c: Chunk) => void): void {
    this.chunkListeners.push(listener);
  }

  /** Called once when the channel ends; with the protocol error when one closed it. */
  onClose(listener: (reason: PgduplexError | undefined) => void): void {
    if (this.closed) listener(undefined);
    else this.closeListeners.push(listener);
  }

  /** Closes on a protocol violation found above the frame layer (e.g. a stream out of order). */
  abort(error: PgduplexError): void {
    this.finish(error);
    this.transport.close(CLOSE_POLICY, error.code);
  }

  close(reason = 'closed'): void {
    this.transport.close(1000, reason);
    this.finish(undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private receive(data: Uint8Array): void {
    if (this.closed) return;
    try {
      const payload = decodePayload(this.opener.open(data));
      if (payload.kind === 'message') for (const l of this.listeners) l(payload.message);
      else for (const l of this.chunkListeners) l(payload);
    } catch (err) {
      const e =
        err instanceof PgduplexError
          ? err
          : new PgduplexError('FRAME_INVALID', 'frame holds no valid message', { cause: err });
      this.finish(e);
      this.transport.close(CLOSE_POLICY, e.code);
    }
  }

  private finish(reason: PgduplexError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners.splice(0)) l(reason);
    this.listeners = [];
    this.chunkListeners = [];
  }

  /** Delivers a message that arrived during the handshake (the server's hello) to the client side. */
  openFirst(data: Uint8Array): ChannelMessage {
    const payload = decodePayload(this.opener.open(data));
    if (payload.kind !== 'message') throw new PgduplexError('HANDSHAKE_FAILED', 'peer did not confirm the session');
    return payload.message;
  }

  /** The hello the server sent to confirm the session (client side only). */
  peerHello: Extract<ChannelMessage, { type: 'hello' }> | undefined;
}
