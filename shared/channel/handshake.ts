import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { PgduplexError } from '../errors.js';
import { bytesEqual, concat, isAllZero, utf8, wipe } from '../crypto/bytes.js';
import { fingerprintOf } from '../crypto/fingerprint.js';
import { hkdf, hmacSha256, sha512 } from '../crypto/kdf.js';

/** The one protocol version; a peer that speaks another is refused, never negotiated with. */
export const PROTOCOL_VERSION = 1;
/** Byte lengths of the three handshake messages. */
export const M1_BYTES = 66;
export const M2_BYTES = 161;
export const M3_BYTES = 130;

/** An agent's long-term Ed25519 key pair. */
export interface Identity {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** What a finished handshake yields: one key per direction, the peer's key, and an id for logs. */
export interface SessionKeys {
  send: Uint8Array;
  receive: Uint8Array;
  peerKey: Uint8Array;
  sessionId: string;
}

/** Whether M3 asks for a normal session (trusted key) or for pairing (token proof). */
export type HandshakeMode = 'session' | 'pairing';

/** Injection points for known-answer tests; production uses fresh randomness for both. */
export interface HandshakeEntropy {
  random?: (n: number) => Uint8Array;
  ephemeral?: nacl.BoxKeyPair;
}

const systemRandom = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** What the server's policy sees of the client before it accepts. */
export interface ClientClaim {
  clientKey: Uint8Array;
  mode: HandshakeMode;
  /** True when the client's proof was made with this pairing secret. */
  proofMatches(secret: Uint8Array): boolean;
}

const LABEL = 'pgduplex/1';

function fail(message: string): PgduplexError {
  return new PgduplexError('HANDSHAKE_FAILED', message);
}

function expectShape(bytes: Uint8Array, type: number, length: number, name: string): void {
  if (bytes.length !== length || bytes[0] !== type) throw fail(`malformed ${name}`);
}

function sharedSecret(secretKey: Uint8Array, peerEphemeral: Uint8Array): Uint8Array {
  if (isAllZero(peerEphemeral)) throw fail('peer sent an all-zero ephemeral key');
  const ss = nacl.scalarMult(secretKey, peerEphemeral);
  if (isAllZero(ss)) throw fail('peer sent a low-order ephemeral key');
  return ss;
}

function deriveKeys(ss: Uint8Array, transcript: Uint8Array, isClient: boolean, peerKey: Uint8Array): SessionKeys {
  const salt = sha512(transcript);
  const c2s = hkdf(ss, salt, `${LABEL} c2s`, nacl.secretbox.keyLength);
  const s2c = hkdf(ss, salt, `${LABEL} s2c`, nacl.secretbox.keyLength);
  const sid = Buffer.from(hkdf(ss, salt, `${LABEL} session id`, 8)).toString('hex');
  wipe(ss);
  return isClient
    ? { send: c2s, receive: s2c, peerKey, sessionId: sid }
    : { send: s2c, receive: c2s, peerKey, sessionId: sid };
}

function m2Signed(m1: Uint8Array, m2Body: Uint8Array): Uint8Array {
  return sha512(concat(utf8(`${LABEL} m2`), m1, m2Body));
}

function m3Signed(m1: Uint8Array, m2: Uint8Array, m3Head: Uint8Array): Uint8Array {
  return sha512(concat(utf8(`${LABEL} m3`), m1, m2, m3Head));
}

function pairingProof(secret: Uint8Array, signed: Uint8Array): Uint8Array {
  return hmacSha256(secret, concat(utf8(`${LABEL} pairing proof`), signed));
}

/** The connecting side. It only accepts the key it expects: a trusted peer's, or the token's fingerprint. */
export class ClientHandshake {
  private readonly ephemeral: nacl.BoxKeyPair;
  private readonly random: (n: number) => Uint8Array;
  private m1: Uint8Array | undefined;

  constructor(
    private readonly identity: Identity,
    private readonly expect: { peerKey: Uint8Array } | { fingerprint: string; pairingSecret: Uint8Array },
    entropy: HandshakeEntropy = {},
  ) {
    this.ephemeral = entropy.ephemeral ?? nacl.box.keyPair();
    this.random = entropy.random ?? systemRandom;
  }

  /** M1: type, version, ephemeral key, nonce. */
  start(): Uint8Array {
    this.m1 = concat(Uint8Array.of(0x01, PROTOCOL_VERSION), this.ephemeral.publicKey, this.random(32));
    return this.m1;
  }

  /** Checks M2 (server's identity and signature over the transcript) and answers with M3. */
  finish(m2: Uint8Array): { m3: Uint8Array; keys: SessionKeys } {
    if (this.m1 === undefined) throw fail('handshake not started');
    if (m2.length >= 1 && m2[0] === 0x7f)
      throw new PgduplexError('PROTOCOL_MISMATCH', 'the peer speaks another pgduplex protocol version');
    expectShape(m2, 0x02, M2_BYTES, 'server hello');
    const body = m2.subarray(0, 97);
    const serverKey = m2.slice(65, 97);
    const sig = m2.subarray(97, 161);
    if ('peerKey' in this.expect) {
      if (!bytesEqual(serverKey, this.expect.peerKey))
        throw new PgduplexError('PEER_KEY_MISMATCH', 'the peer presented a key that is not the paired one');
    } else if (fingerprintOf(serverKey) !== this.expect.fingerprint) {
      throw new PgduplexError('PEER_KEY_MISMATCH', "the peer's key does not match the fingerprint in the token");
    }
    if (!nacl.sign.detached.verify(m2Signed(this.m1, body), sig, serverKey)) throw fail('server signature is invalid');
    const ss = sharedSecret(this.ephemeral.secretKey, m2.slice(1, 33));
    const mode = 'pairingSecret' in this.expect ? 1 : 0;
    const head = concat(Uint8Array.of(0x03), this.identity.publicKey, Uint8Array.of(mode));
    const signed = m3Signed(this.m1, m2, head);
    const proof = 'pairingSecret' in this.expect ? pairingProof(this.expect.pairingSecret, signed) : new Uint8Array(32);
    const m3 = concat(head, nacl.sign.detached(signed, this.identity.secretKey), proof);
    wipe(this.ephemeral.secretKey);
    return { m3, keys: deriveKeys(ss, concat(this.m1, m2, m3), true, serverKey) };
  }
}

/** The accepting side. Nothing is decided before M3 is verified against the policy. */
export class ServerHandshake {
  private readonly ephemeral: nacl.BoxKeyPair;
  private readonly random: (n: number) => Uint8Array;
  private m1: Uint8Array | undefined;
  private m2: Uint8Array | undefined;
  private m3: { bytes: Uint8Array; clientKey: Uint8Array; mode: HandshakeMode } | undefined;

  constructor(
    private readonly identity: Identity,
    entropy: HandshakeEntropy = {},
  ) {
    this.ephemeral = entropy.ephemeral ?? nacl.box.keyPair();
    this.random = entropy.random ?? systemRandom;
  }

  /** Checks M1 and answers with M2: ephemeral, nonce, identity, signature over both hellos. */
  respond(m1: Uint8Array): Uint8Array {
    if (m1.length >= 2 && m1[0] === 0x01 && m1[1] !== PROTOCOL_VERSION) {
      throw new PgduplexError(
        'PROTOCOL_MISMATCH',
        `client speaks protocol version ${m1[1]}, this agent speaks ${PROTOCOL_VERSION}`,
      );
    }
    expectShape(m1, 0x01, M1_BYTES, 'client hello');
    if (isAllZero(m1.subarray(2, 34))) throw fail('peer sent an all-zero ephemeral key');
    this.m1 = m1.slice();
    const body = concat(Uint8Array.of(0x02), this.ephemeral.publicKey, this.random(32), this.identity.publicKey);
    this.m2 = concat(body, nacl.sign.detached(m2Signed(this.m1, body), this.identity.secretKey));
    return this.m2;
  }

  /** Verifies M3's signature, then asks `authorize` whether this client may in; derives keys only then. */
  finish(m3: Uint8Array, authorize: (claim: ClientClaim) => boolean): SessionKeys & { mode: HandshakeMode } {
    const claim = this.verify(m3);
    if (!authorize(claim)) throw new PgduplexError('PEER_NOT_TRUSTED', 'the client is not a paired peer');
    return this.derive();
  }

  /** Checks M3 and its signature; what it returns is the client's claim, to be authorized before `derive`. */
  verify(m3: Uint8Array): ClientClaim {
    if (this.m1 === undefined || this.m2 === undefined) throw fail('handshake out of order');
    expectShape(m3, 0x03, M3_BYTES, 'client proof');
    const clientKey = m3.slice(1, 33);
    const modeByte = m3[33];
    if (modeByte !== 0 && modeByte !== 1) throw fail('unknown handshake mode');
    const head = m3.subarray(0, 34);
    const signed = m3Signed(this.m1, this.m2, head);
    if (!nacl.sign.detached.verify(signed, m3.subarray(34, 98), clientKey)) throw fail('client signature is invalid');
    const mode: HandshakeMode = modeByte === 1 ? 'pairing' : 'session';
    const proof = m3.subarray(98, 130);
    if (mode === 'session' && !isAllZero(proof)) throw fail('unexpected pairing proof in a session handshake');
    this.m3 = { bytes: m3.slice(), clientKey, mode };
    return {
      clientKey,
      mode,
      proofMatches: (secret) => mode === 'pairing' && bytesEqual(pairingProof(secret, signed), proof),
    };
  }

  /** The session keys, once the claim `verify` returned was authorized. */
  derive(): SessionKeys & { mode: HandshakeMode } {
    if (this.m1 === undefined || this.m2 === undefined || this.m3 === undefined) throw fail('handshake out of order');
    const { bytes, clientKey, mode } = this.m3;
    const ss = sharedSecret(this.ephemeral.secretKey, this.m1.slice(2, 34));
    wipe(this.ephemeral.secretKey);
    return { ...deriveKeys(ss, concat(this.m1, this.m2, bytes), false, clientKey), mode };
  }
}
