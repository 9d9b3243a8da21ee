import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  ClientHandshake,
  M1_BYTES,
  M2_BYTES,
  M3_BYTES,
  ServerHandshake,
  type ClientClaim,
  type Identity,
} from '../../../shared/channel/handshake.js';
import { fingerprintOf } from '../../../shared/crypto/fingerprint.js';
import { PgduplexError } from '../../../shared/errors.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const seeded = (byte: number): Identity => nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(byte));
const fixed = (byte: number) => (n: number) => new Uint8Array(n).fill(byte);
const eph = (byte: number) => nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(byte));

const serverId = seeded(1);
const clientId = seeded(2);
const trustClient = (c: ClientClaim) =>
  c.mode === 'session' && Buffer.from(c.clientKey).equals(Buffer.from(clientId.publicKey));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PgduplexError);
    return (err as PgduplexError).code;
  }
  return 'NO_ERROR';
}

function run(
  opts: {
    tamper?: (msg: 'm1' | 'm2' | 'm3', b: Uint8Array) => Uint8Array;
    authorize?: (c: ClientClaim) => boolean;
  } = {},
) {
  const t = opts.tamper ?? ((_m, b) => b);
  const client = new ClientHandshake(clientId, { peerKey: serverId.publicKey });
  const server = new ServerHandshake(serverId);
  const m2 = server.respond(t('m1', client.start()));
  const { m3, keys: ck } = client.finish(t('m2', m2));
  const sk = server.finish(t('m3', m3), opts.authorize ?? trustClient);
  return { ck, sk };
}

describe('handshake', () => {
  it('agrees on per-direction keys and identifies both peers', () => {
    const { ck, sk } = run();
    expect(hex(ck.send)).toBe(hex(sk.receive));
    expect(hex(ck.receive)).toBe(hex(sk.send));
    expect(hex(ck.send)).not.toBe(hex(ck.receive));
    expect(ck.sessionId).toBe(sk.sessionId);
    expect(hex(ck.peerKey)).toBe(hex(serverId.publicKey));
    expect(hex(sk.peerKey)).toBe(hex(clientId.publicKey));
    expect(sk.mode).toBe('session');
  });

  it('is deterministic given its randomness (known-answer transcript)', () => {
    const client = new ClientHandshake(
      clientId,
      { peerKey: serverId.publicKey },
      { random: fixed(0xaa), ephemeral: eph(3) },
    );
    const server = new ServerHandshake(serverId, { random: fixed(0xbb), ephemeral: eph(4) });
    const m1 = client.start();
    const m2 = server.respond(m1);
    const { m3, keys } = client.finish(m2);
    server.finish(m3, trustClient);
    expect([m1.length, m2.length, m3.length]).toEqual([M1_BYTES, M2_BYTES, M3_BYTES]);
    expect({
      m1: hex(m1),
      m2: hex(m2),
      m3: hex(m3),
      send: hex(keys.send),
      receive: hex(keys.receive),
      sid: keys.sessionId,
    }).toMatchSnapshot();
  });

  it('refuses a client whose key is not trusted, before deriving anything', () => {
    expect(codeOf(() => run({ authorize: () => false }))).toBe('PEER_NOT_TRUSTED');
  });

  it('refuses a server that presents another key than the paired one', () => {
    const client = new ClientHandshake(clientId, { peerKey: serverId.publicKey });
    const impostor = new ServerHandshake(seeded(9));
    expect(codeOf(() => client.finish(impostor.respond(client.start())))).toBe('PEER_KEY_MISMATCH');
  });

  it('refuses another protocol version without negotiating', () => {
    const client = new ClientHandshake(clientId, { peerKey: serverId.publicKey });
    const m1 = client.start().slice();
    m1[1] = 2;
    expect(codeOf(() => new ServerHandshake(serverId).respond(m1))).toBe('PROTOCOL_MISMATCH');
  });

  it.each(['m1', 'm2', 'm3'] as const)('fails on any single bit flipped in %s', (which) => {
    const size = { m1: M1_BYTES, m2: M2_BYTES, m3: M3_BYTES }[which];
    for (let bit = 0; bit < size * 8; bit += 7) {
      const code = codeOf(() =>
        run({
          tamper: (m, b) => {
            if (m !== which) return b;
            const c = b.slice();
            c[bit >> 3]! ^= 1 << (bit & 7);
            return c;
          },
        }),
      );
      // Flipping a nonce/ephemeral bit in m1 changes what both sign, so the session still fails later
      // (different keys) or the handshake fails now; here every flip must fail now.
      expect(code, `${which} bit ${bit}`).not.toBe('NO_ERROR');
    }
  });

  it.each(['m1', 'm2', 'm3'] as const)('fails on random bytes and truncation of %s', (which) => {
    for (const len of [0, 1, 10, 65, 66, 129, 130, 160, 161, 200]) {
      const code = codeOf(() => run({ tamper: (m, b) => (m === which ? new Uint8Array(nacl.randomBytes(len)) : b) }));
      expect(code, `${which} len ${len}`).not.toBe('NO_ERROR');
    }
  });

  it('rejects all-zero and low-order ephemeral keys', () => {
    const zero = (m: string, b: Uint8Array) => {
      if (m !== 'm1') return b;
      const c = b.slice();
      c.fill(0, 2, 34);
      return c;
    };
    expect(codeOf(() => run({ tamper: zero }))).toBe('HANDSHAKE_FAILED');
    // A low-order point (order 8) on Curve25519: X25519 with it gives all zeros.
    const lowOrder = Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex');
    const client = new ClientHandshake(clientId, { peerKey: serverId.publicKey });
    const server = new ServerHandshake(serverId);
    const m2 = server.respond(client.start()).slice();
    m2.set(lowOrder, 1);
    expect(codeOf(() => client.finish(m2))).not.toBe('NO_ERROR');
  });

  it('cannot be replayed: an old M3 does not fit a new server hello', () => {
    const client = new ClientHandshake(clientId, { peerKey: serverId.publicKey });
    const server1 = new ServerHandshake(serverId);
    const m1 = client.start();
    const { m3 } = client.finish(server1.respond(m1));
    const server2 = new ServerHandshake(serverId);
    server2.respond(m1);
    expect(codeOf(() => server2.finish(m3, trustClient))).toBe('HANDSHAKE_FAILED');
  });

  it('rejects a signature whose S component was mutated (malleability)', () => {
    const code = codeOf(() =>
      run({
        tamper: (m, b) => {
          if (m !== 'm3') return b;
          const c = b.slice();
          c[34 + 63]! ^= 0x10;
          return c;
        },
      }),
    );
    expect(code).toBe('HANDSHAKE_FAILED');
  });

  describe('pairing mode', () => {
    const secret = new Uint8Array(16).fill(5);
    const pairClient = (s: Uint8Array, fp = fingerprintOf(serverId.publicKey)) =>
      new ClientHandshake(clientId, { fingerprint: fp, pairingSecret: s });

    it('proves the token secret without sending it', () => {
      const client = pairClient(secret);
      const server = new ServerHandshake(serverId);
      const { m3 } = client.finish(server.respond(client.start()));
      expect(Buffer.from(m3).includes(Buffer.from(secret))).toBe(false);
      const keys = server.finish(m3, (c) => c.mode === 'pairing' && c.proofMatches(secret));
      expect(keys.mode).toBe('pairing');
    });

    it('fails with a wrong secret', () => {
      const client = pairClient(new Uint8Array(16).fill(6));
      const server = new ServerHandshake(serverId);
      const { m3 } = client.finish(server.respond(client.start()));
      expect(codeOf(() => server.finish(m3, (c) => c.proofMatches(secret)))).toBe('PEER_NOT_TRUSTED');
    });

    it('detects a man in the middle who substitutes his key: the fingerprint does not match', () => {
      const client = pairClient(secret);
      const mitm = new ServerHandshake(seeded(66));
      expect(codeOf(() => client.finish(mitm.respond(client.start())))).toBe('PEER_KEY_MISMATCH');
    });
  });
});
