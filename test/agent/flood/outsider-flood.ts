// Runs on the host inside the outsider's network namespace: floods one agent port with /health
// requests and unauthenticated websocket handshakes at a fixed rate, then prints what came back.
import { Agent, get } from 'node:http';
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { WebSocket } from 'ws';
import { dialPeer, peerUrl } from '../../../agent/peer/link.js';
import { fingerprintOf } from '../../../shared/crypto/fingerprint.js';
import { toPgduplexError } from '../../../shared/errors.js';

/** What the flood does: where, how fast, how long, and how many of its requests are handshakes. */
export interface FloodPlan {
  address: string;
  port: number;
  ratePerSecond: number;
  seconds: number;
  handshakes: number;
  /** The agent's public key (base64), so the untrusted clients get as far as proving their own key. */
  serverKey: string;
}

/** What the flood saw: answers by kind, and how many it could not even send. */
export interface FloodReport {
  sent: number;
  notSent: number;
  elapsedMs: number;
  health: Record<string, number>;
  handshakes: Record<string, number>;
}

/** Beyond this many unanswered requests the driver itself would be the bottleneck; it counts them as not sent. */
const MAX_IN_FLIGHT = 2000;
const plan = JSON.parse(process.argv[2] ?? '{}') as FloodPlan;
const keepAlive = new Agent({ keepAlive: true, maxSockets: 128 });
const strangers = Array.from({ length: 8 }, () => {
  const pair = nacl.sign.keyPair();
  return { ...pair, fingerprint: fingerprintOf(pair.publicKey) };
});
const report: FloodReport = { sent: 0, notSent: 0, elapsedMs: 0, health: {}, handshakes: {} };
const count = (bucket: Record<string, number>, key: string) => (bucket[key] = (bucket[key] ?? 0) + 1);

function health(i: number): Promise<string> {
  return new Promise((resolve) => {
    const req = get(
      { host: plan.address, port: plan.port, path: '/health', agent: i % 2 === 0 ? keepAlive : false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
        res.on('error', () => resolve('reset'));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.message === 'timeout' ? 'timeout' : (err.code ?? 'error')),
    );
  });
}

/** A stranger with a valid-looking key of its own: the agent must refuse it once it has proved that key. */
async function stranger(i: number): Promise<string> {
  const limits = { handshakeTimeoutMs: 10_000, maxFrameBytes: 65_536, connectTimeoutMs: 10_000 };
  try {
    const s = await dialPeer(
      { address: plan.address, port: plan.port },
      strangers[i % strangers.length]!,
      { peerKey: new Uint8Array(Buffer.from(plan.serverKey, 'base64')) },
      limits,
      undefined,
    );
    s.channel.close();
    return 'accepted';
  } catch (err) {
    const e = toPgduplexError(err);
    return e.code === 'AGENT_UNREACHABLE' ? (/\b503\b/.test(e.message) ? 'busy' : 'unreachable') : `refused:${e.code}`;
  }
}

/** Garbage instead of a hello, or nothing at all: the agent must close the socket either way. */
function rawSocket(speak: boolean): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(peerUrl(plan.address, plan.port), { perMessageDeflate: false, handshakeTimeout: 10_000 });
    const timer = setTimeout(() => ws.terminate(), 20_000);
    let heard = '';
    ws.on('open', () => {
      if (speak) ws.send(randomBytes(1 + (randomBytes(1)[0] ?? 0)));
    });
    // A refused handshake may state its reason first: two bytes, 0x7e and the reason's number.
    ws.on('message', (data: Buffer) => (heard = data.length === 2 && data[0] === 0x7e ? ':reason' : ':answered'));
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode === 503 ? 'busy' : `http:${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 1006 && !speak ? 'dropped' : `closed:${code}${heard}`);
    });
  });
}

function handshake(i: number): Promise<string> {
  const kind = i % 3;
  return kind === 0 ? stranger(i) : rawSocket(kind === 1).then((r) => `${kind === 1 ? 'garbage' : 'silent'}:${r}`);
}

const total = plan.ratePerSecond * plan.seconds;
const every = Math.max(1, Math.floor(total / plan.handshakes));
const pending = new Set<Promise<void>>();
const started = performance.now();
let next = 0;
let handshakesSent = 0;
while (next < total) {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * plan.ratePerSecond));
  for (; next < due; next++) {
    const isHandshake = next % every === every - 1 && handshakesSent < plan.handshakes;
    if (pending.size >= MAX_IN_FLIGHT && !isHandshake) {
      report.notSent += 1;
      continue;
    }
    report.sent += 1;
    const p = isHandshake
      ? handshake(handshakesSent++).then((r) => void count(report.handshakes, r))
      : health(next).then((r) => void count(report.health, r));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  await new Promise((r) => setTimeout(r, 5));
}
await Promise.all(pending);
report.elapsedMs = Math.round(performance.now() - started);
keepAlive.destroy();
console.log(JSON.stringify(report));
process.exit(0);
