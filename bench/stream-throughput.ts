// `npm run bench` (part 3): streamed-payload throughput through the secure channel as a ratio to
// plain ws sending the same bytes in the same frame size over the same loopback link, in one run.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import nacl from 'tweetnacl';
import { WebSocket, WebSocketServer } from 'ws';
import { WsTransport } from '../agent/peer/ws-transport.js';
import { fingerprintOf } from '../shared/crypto/fingerprint.js';
import { SecureChannel } from '../shared/channel/secure-channel.js';
import { sendStream, StreamInbox } from '../shared/channel/streams.js';

const TOTAL = 64 * 1024 * 1024;
const FRAME = 65_536;
const ROUNDS = 3;
const block = new Uint8Array(randomBytes(1024 * 1024));
const source = function* (): Generator<Uint8Array> {
  for (let sent = 0; sent < TOTAL; sent += block.length) yield block;
};
const limits = { handshakeTimeoutMs: 5000, maxFrameBytes: FRAME };

async function server(onConnection: (ws: WebSocket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: FRAME + 64 });
  wss.on('connection', onConnection);
  await new Promise((r) => wss.once('listening', r));
  return { port: (wss.address() as AddressInfo).port, close: () => new Promise((r) => wss.close(() => r())) };
}

async function plainWs(): Promise<number> {
  const srv = await server(async (ws) => {
    const inflight: Array<Promise<void>> = [];
    for (const piece of source()) {
      for (let at = 0; at < piece.length; at += FRAME - 10) {
        inflight.push(new Promise((r) => ws.send(piece.subarray(at, at + FRAME - 10), () => r())));
        if (inflight.length >= 16) await inflight.shift();
      }
    }
    await Promise.all(inflight);
    ws.close();
  });
  const started = performance.now();
  let bytes = 0;
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}`, { perMessageDeflate: false, maxPayload: FRAME + 64 });
  ws.on('message', (d: Buffer) => (bytes += d.length));
  await new Promise((r) => ws.once('close', r));
  await srv.close();
  if (bytes !== TOTAL) throw new Error(`plain ws moved ${bytes} bytes`);
  return TOTAL / ((performance.now() - started) / 1000);
}

async function channel(): Promise<number> {
  const a = nacl.sign.keyPair();
  const b = nacl.sign.keyPair();
  const srv = await server(async (ws) => {
    const ch = await SecureChannel.accept(new WsTransport(ws, '127.0.0.1'), b, () => true, limits, {
      type: 'hello',
      node: 'b',
      version: 'bench',
    });
    await sendStream(ch, 1, source());
  });
  const started = performance.now();
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}`, { perMessageDeflate: false, maxPayload: FRAME + 64 });
  await new Promise((r) => ws.once('open', r));
  const ch = await SecureChannel.connect(
    new WsTransport(ws, '127.0.0.1'),
    { ...a, fingerprint: fingerprintOf(a.publicKey) } as never,
    { peerKey: b.publicKey },
    limits,
  );
  let bytes = 0;
  const inbox = new StreamInbox(ch, 64 * 1024 * 1024);
  inbox.expect(1);
  for await (const piece of inbox.take(1)) bytes += piece.length;
  const rate = TOTAL / ((performance.now() - started) / 1000);
  ch.close();
  await srv.close();
  if (bytes !== TOTAL) throw new Error(`channel moved ${bytes} bytes`);
  return rate;
}

const plain: number[] = [];
const secure: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  plain.push(await plainWs());
  secure.push(await channel());
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
const mb = (x: number) => Math.round((x / 1048576) * 10) / 10;
const results = {
  measuredAt: new Date().toISOString(),
  where:
    'host loopback, sender and receiver in one Node.js process, 64 MiB per run, 64 KiB frames, 16 frames in flight',
  plainWsMiBps: plain.map(mb),
  channelMiBps: secure.map(mb),
  ratio: Math.round((median(secure) / median(plain)) * 100) / 100,
  target: 0.5,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/stream.json', `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
