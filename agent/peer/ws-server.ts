import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../shared/log.js';
import { canonicalAddress } from '../firewall/address.js';
import { PendingHandshakes, type AddressGate, type PendingLimits } from './admission.js';
import { RefusalLog } from './refusal-log.js';
import { WsTransport } from './ws-transport.js';

/** Path of the peer websocket on the agent's TCP port. */
export const PEER_PATH = '/v1/peer';

/** Response header naming why an upgrade was refused, so the connecting agent can say what to do. */
export const REFUSAL_HEADER = 'x-pgduplex-refused';

/** Limits of the peer endpoint, from agent.json. */
export interface PeerServerLimits extends PendingLimits {
  maxFrameBytes: number;
  /** A client that sends no hello (M1) this long after the upgrade is cut off. */
  helloTimeoutMs: number;
  heartbeatMs?: number;
}

/** What the endpoint did with each upgrade, for /metrics: refused before any crypto, busy, or handshaken. */
export class PeerConnectionCounts {
  refused = 0;
  busy = 0;
  handshakes = 0;
}

/** Who may reach the handshake, and where the counts and the refusal log go. */
export interface PeerServerDeps {
  gate: AddressGate;
  log: Logger;
  counts?: PeerConnectionCounts;
  refusalLogMs?: number;
}

const answer = (status: string, extra = ''): string =>
  `HTTP/1.1 ${status}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`;

/**
 * Upgrades `/v1/peer` on the agent's HTTP server to a websocket (no compression, small maxPayload) and hands
 * each one to `onTransport`. Before the websocket is accepted, so before any crypto, it refuses addresses
 * that are neither the trusted peer's nor an open pairing window's, and callers over the pending caps.
 */
export function attachPeerServer(
  server: Server,
  limits: PeerServerLimits,
  deps: PeerServerDeps,
  onTransport: (t: WsTransport) => Promise<unknown>,
): () => Promise<void> {
  const { gate, log } = deps;
  const counts = deps.counts ?? new PeerConnectionCounts();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes + 64,
    perMessageDeflate: false,
    clientTracking: true,
  });
  const pending = new PendingHandshakes(limits);
  const refusals = new RefusalLog(log, deps.refusalLogMs);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if ((req.url ?? '').split('?')[0] !== PEER_PATH) return void socket.end(answer('404 Not Found'));
    const address = canonicalAddress(req.socket.remoteAddress);
    const refused = gate(address);
    if (refused !== undefined) {
      counts.refused += 1;
      refusals.note(address, refused);
      return void socket.end(answer('403 Forbidden', `${REFUSAL_HEADER}: ${refused}\r\n`));
    }
    const release = pending.take(address);
    if (release === undefined) {
      counts.busy += 1;
      refusals.note(address, 'BUSY');
      return void socket.end(answer('503 Service Unavailable'));
    }
    // ws answers a malformed upgrade itself and never calls back; the socket closing releases the slot.
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      counts.handshakes += 1;
      cutIfSilent(ws, limits.helloTimeoutMs);
      log.debug({ peer: address }, 'peer websocket opened');
      onTransport(new WsTransport(ws, address, limits.heartbeatMs))
        .catch(() => undefined)
        .finally(release);
    });
  };
  server.on('upgrade', onUpgrade);
  return async () => {
    server.off('upgrade', onUpgrade);
    refusals.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  };
}

/** A client must say hello (M1) soon: a silent one would hold its pending slot for the whole handshake time. */
function cutIfSilent(ws: WebSocket, helloTimeoutMs: number): void {
  const timer = setTimeout(() => {
    ws.close(1008, 'no hello in time');
    setTimeout(() => ws.terminate(), 1000).unref();
  }, helloTimeoutMs);
  timer.unref();
  const stop = (): void => clearTimeout(timer);
  ws.once('message', stop);
  ws.once('close', stop);
}
