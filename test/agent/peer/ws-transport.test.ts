import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { WsTransport } from '../../../agent/peer/ws-transport.js';

// Real websockets on loopback; a "partitioned" peer is one whose socket stops reading (no pong, nothing).
let wss: WebSocketServer | undefined;
afterEach(async () => {
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise((r) => wss?.close(r) ?? r(undefined));
  wss = undefined;
});

async function pair(opts: { peerReads: boolean }): Promise<{ transport: WsTransport; closed: Promise<number> }> {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (peer) => {
    const raw = (peer as unknown as { _socket: { pause(): void } })._socket;
    if (!opts.peerReads) raw.pause();
  });
  await new Promise((r) => wss!.once('listening', r));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const transport = new WsTransport(ws, '127.0.0.1', 100);
  const started = Date.now();
  const closed = new Promise<number>((r) => transport.onClose(() => r(Date.now() - started)));
  return { transport, closed };
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'still open'>((r) => setTimeout(() => r('still open'), ms))]);

describe('WsTransport heartbeat', () => {
  it('cuts a link whose peer stopped answering, instead of leaving calls to time out', async () => {
    const { closed } = await pair({ peerReads: false });
    expect(await within(closed, 10_000)).not.toBe('still open');
  });

  it('keeps a link whose peer answers the pings, over many intervals', async () => {
    const { transport, closed } = await pair({ peerReads: true });
    expect(await within(closed, 1500)).toBe('still open');
    transport.close(1000, 'done');
  });
});
