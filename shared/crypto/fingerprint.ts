import { base32Encode, utf8, concat } from './bytes.js';
import { sha512 } from './kdf.js';

/** 100 bits of SHA-512 over the public key: 20 base32 characters, read aloud in groups of four. */
export const FINGERPRINT_CHARS = 20;

/** Raw fingerprint characters (no separators) of an Ed25519 public key. */
export function fingerprintOf(publicKey: Uint8Array): string {
  return base32Encode(sha512(concat(utf8('pgduplex/1 fingerprint'), publicKey))).slice(0, FINGERPRINT_CHARS);
}

/** Groups a fingerprint for people: ABCD-EFGH-IJKL-MNOP-QRST. */
export function formatFingerprint(raw: string): string {
  return raw.match(/.{1,4}/g)?.join('-') ?? raw;
}

/** Normalises what a person typed: separators and case do not matter. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/[\s-]/g, '').toUpperCase();
}
