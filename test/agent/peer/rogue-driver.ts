// Runs inside a lab node: a client that dials a pgduplex agent with a key of its choosing and tries
// one action, printing what happened as JSON. It plays the stranger, the replaced key, the guesser.
import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { dialPeer } from '../../../agent/peer/link.js';
import { fingerprintOf } from '../../../shared/crypto/fingerprint.js';
import { parseToken } from '../../../shared/crypto/token.js';
import { toPgduplexError } from '../../../shared/errors.js';

interface Args {
  address: string;
  port: number;
  /** Expect this server key (base64) in a session handshake, or pair with this token. */
  expectKey?: string;
  token?: string;
  /** Use this agent's identity.json instead of a fresh key. */
  identityFile?: string;
  action: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const pair = args.identityFile
  ? nacl.sign.keyPair.fromSecretKey(
      new Uint8Array(
        Buffer.from((JSON.parse(readFileSync(args.identityFile, 'utf8')) as { secretKey: string }).secretKey, 'base64'),
      ),
    )
  : nacl.sign.keyPair();
const identity = { ...pair, fingerprint: fingerprintOf(pair.publicKey) };
const limits = { handshakeTimeoutMs: 5000, maxFrameBytes: 65_536, connectTimeoutMs: 3000 };

try {
  const expect = args.token
    ? (() => {
        const t = parseToken(args.token);
        return { fingerprint: t.fingerprint, pairingSecret: t.secret };
      })()
    : { peerKey: new Uint8Array(Buffer.from(args.expectKey ?? '', 'base64')) };
  const s = await dialPeer({ address: args.address, port: args.port }, identity, expect, limits, undefined);
  const result = await s.rpc.callRaw(args.action, args.token ? { node: 'rogue', port: 7740 } : {}, { timeoutMs: 5000 });
  s.channel.close();
  console.log(JSON.stringify({ ok: true, result }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: toPgduplexError(err).toJSON() }));
}
process.exit(0);
