import { SecureChannel } from '../../../shared/channel/secure-channel.js';
import { transportPair } from '../../support/memory-transport.js';

/** Small frames, so a test's payloads span many of them. */
export const limits = { handshakeTimeoutMs: 2000, maxFrameBytes: 4096 };
/** Fixed session keys for one direction pair: `keys(1, 2)` on one end, `keys(2, 1)` on the other. */
export const keys = (a: number, b: number) => ({
  send: new Uint8Array(32).fill(a),
  receive: new Uint8Array(32).fill(b),
  peerKey: new Uint8Array(32),
  sessionId: 's',
  mode: 'session' as const,
});

/** Two live channels over an in-memory transport, keys fixed (no handshake); `frames` are the sizes the server sent. */
export function channelPair() {
  const [ct, st] = transportPair();
  const c = SecureChannel.fromKeys(ct, keys(1, 2), 'client', limits).activate();
  const s = SecureChannel.fromKeys(st, keys(2, 1), 'server', limits).activate();
  return { c, s, frames: () => st.sent.map((f) => f.length) };
}
