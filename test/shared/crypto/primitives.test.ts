import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, bytesEqual, isAllZero, utf8 } from '../../../shared/crypto/bytes.js';
import { fingerprintOf, formatFingerprint, normalizeFingerprint } from '../../../shared/crypto/fingerprint.js';
import { hkdfWith, hmacSha256, sha512 } from '../../../shared/crypto/kdf.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('base32 (RFC 4648 section 10 vectors, unpadded)', () => {
  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('%j -> %s', (plain, encoded) => {
    expect(base32Encode(utf8(plain))).toBe(encoded);
    expect(Buffer.from(base32Decode(encoded.toLowerCase()) ?? []).toString()).toBe(plain);
  });

  it('rejects characters outside the alphabet and non-zero trailing bits', () => {
    expect(base32Decode('MZ0Q')).toBeUndefined();
    expect(base32Decode('MZ')).toBeUndefined();
  });

  it('round-trips any bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(hex(base32Decode(base32Encode(b)) ?? new Uint8Array([1]))).toBe(hex(b));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('hashes and KDF against published vectors', () => {
  it('SHA-512("abc") (FIPS 180-2 appendix C.1)', () => {
    expect(hex(sha512(utf8('abc')))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });

  it('HMAC-SHA256 (RFC 4231 test case 2)', () => {
    expect(hex(hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('HKDF (RFC 5869 test case 1, SHA-256)', () => {
    const okm = hkdfWith(
      'sha256',
      unhex('0b'.repeat(22)),
      unhex('000102030405060708090a0b0c'),
      unhex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(hex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });
});

describe('fingerprints', () => {
  const key = new Uint8Array(32).fill(7);

  it('are 20 base32 characters, grouped by four for reading aloud', () => {
    const fp = fingerprintOf(key);
    expect(fp).toMatch(/^[A-Z2-7]{20}$/);
    expect(formatFingerprint(fp)).toMatch(/^([A-Z2-7]{4}-){4}[A-Z2-7]{4}$/);
    expect(normalizeFingerprint(formatFingerprint(fp).toLowerCase())).toBe(fp);
  });

  it('differ for different keys', () => {
    expect(fingerprintOf(key)).not.toBe(fingerprintOf(new Uint8Array(32).fill(8)));
  });
});

describe('byte helpers', () => {
  it('compares in constant time and never equates empty arrays', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(false);
    expect(isAllZero(new Uint8Array(32))).toBe(true);
    expect(isAllZero(Uint8Array.of(0, 1))).toBe(false);
  });
});
