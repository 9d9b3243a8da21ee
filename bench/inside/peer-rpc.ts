// Runs inside lab node a (paired with b): times the session handshake and RPC round trips to b,
// using a's own identity and trust store, and prints the figures as JSON.
import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { dialPeer } from '../../agent/peer/link.js';
import { fingerprintOf } from '../../shared/crypto/fingerprint.js';

const [handshakes = 20, calls = 1000] = process.argv.slice(2).map(Number) as number[];
const id = JSON.parse(readFileSync('/var/lib/pgduplex/identity.json', 'utf8')) as { secretKey: string };
const peer = (
  JSON.parse(readFileSync('/var/lib/pgduplex/peers.json', 'utf8')) as {
    peers: Array<{ address: string; port: number; publicKey: string }>;
  }
).peers[0]!;
const pair = nacl.sign.keyPair.fromSecretKey(new Uint8Array(Buffer.from(id.secretKey, 'base64')));
const identity = { ...pair, fingerprint: fingerprintOf(pair.publicKey) };
const limits = { handshakeTimeoutMs: 5000, maxFrameBytes: 65_536, connectTimeoutMs: 5000 };
const expectKey = { peerKey: new Uint8Array(Buffer.from(peer.publicKey, 'base64')) };
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const round = (x: number) => Math.round(x * 1000) / 1000;

const hs: number[] = [];
for (let i = 0; i < handshakes; i++) {
  const t = performance.now();
  const s = await dialPeer(peer, identity, expectKey, limits, undefined);
  hs.push(performance.now() - t);
  s.channel.close();
}
const s = await dialPeer(peer, identity, expectKey, limits, undefined);
const rtt: number[] = [];
for (let i = 0; i < calls; i++) {
  const t = performance.now();
  await s.rpc.callRaw('ping', {}, { timeoutMs: 5000 });
  rtt.push(performance.now() - t);
}
s.channel.close();
console.log(
  JSON.stringify({
    handshakes,
    handshakeMs: { p50: round(pct(hs, 50)), p99: round(pct(hs, 99)) },
    calls,
    rpcRoundTripMs: { p50: round(pct(rtt, 50)), p99: round(pct(rtt, 99)) },
  }),
);
process.exit(0);
