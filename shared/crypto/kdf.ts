import { createHmac, hkdfSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { utf8 } from './bytes.js';

/** SHA-512 (tweetnacl's hash), used for transcripts and fingerprints. */
export function sha512(data: Uint8Array): Uint8Array {
  return nacl.hash(data);
}

/** HKDF-SHA512 (RFC 5869) from Node's OpenSSL: derives per-direction session keys. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Uint8Array {
  return hkdfWith('sha512', ikm, salt, utf8(info), length);
}

/** HKDF with a chosen hash; exported so the RFC 5869 vectors (SHA-256) can check the wiring. */
export function hkdfWith(
  hash: 'sha256' | 'sha512',
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return new Uint8Array(hkdfSync(hash, ikm, salt, info, length));
}

/** HMAC-SHA256: proves knowledge of the pairing secret without sending it. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest());
}
