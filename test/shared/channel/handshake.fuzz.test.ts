import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { ClientHandshake, M1_BYTES, PROTOCOL_VERSION, ServerHandshake } from '../../../shared/channel/handshake.js';
import { bytesEqual, isAllZero } from '../../../shared/crypto/bytes.js';
import { fingerprintOf } from '../../../shared/crypto/fingerprint.js';
import type { ErrorCode } from '../../../shared/errors.js';
import { bytesInput, FUZZ_TIMEOUT_MS, typedOutcome } from '../../fuzz/mutate.js';

// Every handshake message is parsed by the side that receives it; each gets damaged and random input.
// A signature costs 3-7 ms in tweetnacl, so the file runs 10,000 cases over the three messages, and
// about one in nine keeps the message's shape (bits flipped past the type byte) to reach the crypto.
const server = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(1));
const client = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(2));
const secret = new Uint8Array(32).fill(3);
const flips = (valid: Uint8Array) =>
  fc
    .array(fc.tuple(fc.integer({ min: 1, max: valid.length - 1 }), fc.integer({ min: 0, max: 7 })), {
      minLength: 1,
      maxLength: 3,
    })
    .map((fs) => {
      const out = valid.slice();
      for (const [i, bit] of fs) out[i]! ^= 1 << bit;
      return out;
    });
const mix = (valid: Uint8Array) =>
  fc.oneof(
    { arbitrary: bytesInput(fc.constant(valid), 200).filter((b) => b.length !== valid.length), weight: 8 },
    { arbitrary: flips(valid), weight: 1 },
  );
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && bytesEqual(a, b);

type Mode = 'session' | 'pairing';
type Exchange = ReturnType<typeof exchange>;

/** Deterministic, so a new exchange repeats the same messages: a server that answered M1 and a client that has yet to check M2, with the valid messages of the exchange. */
function exchange(mode: Mode) {
  const expect =
    mode === 'session'
      ? { peerKey: server.publicKey }
      : { fingerprint: fingerprintOf(server.publicKey), pairingSecret: secret };
  const entropy = () => ({
    ephemeral: nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(4)),
    random: (n: number) => new Uint8Array(n).fill(5),
  });
  const c = new ClientHandshake(client, expect, entropy());
  const s = new ServerHandshake(server, {
    ephemeral: nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(6)),
    random: (n) => new Uint8Array(n).fill(7),
  });
  const m1 = c.start();
  const m2 = s.respond(m1);
  const waiting = new ClientHandshake(client, expect, entropy());
  waiting.start();
  return { m1, m2, m3: c.finish(m2).m3, server: s, client: waiting };
}

describe('handshake messages under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('M1: the server answers only a well-formed hello of its own version, else a typed refusal', () => {
    const { m1 } = exchange('session');
    const s = new ServerHandshake(server);
    fc.assert(
      fc.property(mix(m1), (bytes) => {
        const r = typedOutcome(['HANDSHAKE_FAILED', 'PROTOCOL_MISMATCH'], () => s.respond(bytes));
        const wellFormed =
          bytes.length === M1_BYTES &&
          bytes[0] === 0x01 &&
          bytes[1] === PROTOCOL_VERSION &&
          !isAllZero(bytes.subarray(2, 34));
        expect(r.ok).toBe(wellFormed);
        if (!r.ok)
          expect(r.error.code === 'PROTOCOL_MISMATCH').toBe(
            bytes.length >= 2 && bytes[0] === 0x01 && bytes[1] !== PROTOCOL_VERSION,
          );
      }),
      { numRuns: 4_000 },
    );
  });

  /** Feeds damaged copies of one message to the side that reads it: only the unchanged message may pass. */
  function onlyUnchanged(
    which: 'm2' | 'm3',
    codes: readonly ErrorCode[],
    read: (x: Exchange, bytes: Uint8Array, mode: Mode) => unknown,
  ): void {
    for (const mode of ['session', 'pairing'] as const) {
      let x = exchange(mode);
      fc.assert(
        fc.property(mix(x[which]), (bytes) => {
          const r = typedOutcome(codes, () => read(x, bytes, mode));
          expect(r.ok).toBe(same(bytes, x[which]));
          if (r.ok) x = exchange(mode);
        }),
        { numRuns: 1_500 },
      );
    }
  }

  it('M2: the client accepts the server hello only unchanged, for a paired key or a token fingerprint', () => {
    onlyUnchanged('m2', ['HANDSHAKE_FAILED', 'PROTOCOL_MISMATCH', 'PEER_KEY_MISMATCH'], (x, bytes) =>
      x.client.finish(bytes),
    );
  });

  it('M3: the server lets in only the unchanged proof of a trusted key (session) or of the token (pairing)', () => {
    onlyUnchanged('m3', ['HANDSHAKE_FAILED', 'PEER_NOT_TRUSTED'], (x, bytes, mode) =>
      x.server.finish(
        bytes,
        (claim) =>
          bytesEqual(claim.clientKey, client.publicKey) &&
          claim.mode === mode &&
          (mode === 'session' || claim.proofMatches(secret)),
      ),
    );
  });
});
