import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCRAM_PASSWORD } from '../../../shared/protocol/postgres.js';
import { hmac, parseVerifier, scramKeys, scramVerifier, verifierMatches } from '../../../agent/postgres/scram.js';

// Produced by PostgreSQL 17 in the lab: CREATE ROLE x PASSWORD 'pencil' (password_encryption = scram-sha-256).
const PG17_PENCIL =
  'SCRAM-SHA-256$4096:L0KGXt1Pxr6BpaKVzhJu0A==$A8Z+MYZJcdd3sU8gjYZHNtbSq80G2L2NNhDD+1MQ+Eo=:0NtiJKph+v4gcdcUmlycX3e0yj8SKTTZgvpzibFLqqA=';

describe('SCRAM-SHA-256 verifier', () => {
  it('reproduces the verifier PostgreSQL computed for the same password, salt and iterations', async () => {
    const salt = Buffer.from('L0KGXt1Pxr6BpaKVzhJu0A==', 'base64');
    expect(await scramVerifier('pencil', { salt, iterations: 4096 })).toBe(PG17_PENCIL);
  });

  it('meets RFC 7677 section 3: the server signature and the client proof of its example exchange', async () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const { storedKey, serverKey } = await scramKeys('pencil', salt, 4096);
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    expect(hmac(serverKey, authMessage).toString('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // What the server does with the client's proof: ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) = StoredKey.
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const signature = hmac(storedKey, authMessage);
    const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });

  it('uses a fresh 16-byte salt and 4096 iterations by default', async () => {
    const [a, b] = [await scramVerifier('correct-horse-battery'), await scramVerifier('correct-horse-battery')];
    expect(a).not.toBe(b);
    const v = parseVerifier(a);
    expect(v?.iterations).toBe(4096);
    expect(v?.salt).toHaveLength(16);
  });

  it('tells whether a password is the one behind a stored verifier, without the password being stored', async () => {
    expect(await verifierMatches('pencil', PG17_PENCIL)).toBe(true);
    expect(await verifierMatches('pencil2', PG17_PENCIL)).toBe(false);
    expect(await verifierMatches('pencil', await scramVerifier('pencil', { iterations: 10 }))).toBe(true);
    for (const other of [
      null,
      undefined,
      '',
      'md5' + 'a'.repeat(32),
      'pencil',
      PG17_PENCIL.replace('4096', '0'),
      PG17_PENCIL.slice(0, -4),
    ]) {
      expect(await verifierMatches('pencil', other)).toBe(false);
    }
  });

  it('accepts only passwords SASLprep leaves unchanged (printable ASCII) of a sane length', () => {
    expect(SCRAM_PASSWORD.test('A-long:enough/p@ss"word\'\\')).toBe(true);
    for (const bad of [
      'short',
      'with a space inside!',
      'tab\there-is-long-enough',
      'ünïcödé-password-long',
      'x'.repeat(257),
      'line\nbreak-long-enough',
    ]) {
      expect(SCRAM_PASSWORD.test(bad)).toBe(false);
    }
  });
});
