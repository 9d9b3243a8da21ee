import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../shared/log.js';
import { plainAddress, WsTransport } from './ws-transport.js';

/** Path of the peer websocket on the agent's TCP port. */
export const PEER_PATH = '/v1/peer';

/** Limits of the peer endpoint, from agent.json. */
export interface PeerServerLimits {
  maxFrameBytes: number;
  maxPendingHandshakes: number;
  heartbeatMs?: number;
}

/**
 * Upgrades `/v1/peer` on the agent's HTTP server to a websocket (no compression, small maxPayload)
 * and hands each one to `onTransport`; everything else that asks to upgrade is refused.
 */
export function attachPeerServer(
  server: Server,
  limits: PeerServerLimits,
  log: Logger,
  onTransport: (t: WsTransport) => Promise<unknown>,
): () => Promise<void> {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes + 64,
    perMessageDeflate: false,
    clientTracking: true,
  });
  let pending = 0;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== PEER_PATH || pending >= limits.maxPendingHandshakes) {
      socket.end(
        path !== PEER_PATH
          ? 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
          : 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    pending += 1;
    let released = false;
    const release = (): void => {
      if (!released) pending -= 1;
      released = true;
    };
    // ws answers a malformed upgrade itself and never calls back; the socket closing releases the slot.
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const address = plainAddress(req.socket.remoteAddress);
      log.debug({ peer: address }, 'peer websocket opened');
      onTransport(new WsTransport(ws, address, limits.heartbeatMs))
        .catch(() => undefined)
        .finally(release);
    });
  };
  server.on('upgrade', onUpgrade);
  return async () => {
    server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  };
}
