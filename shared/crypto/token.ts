import { randomBytes } from 'node:crypto';
import { PgduplexError } from '../errors.js';
import { base32Decode, base32Encode } from './bytes.js';
import { FINGERPRINT_CHARS, normalizeFingerprint } from './fingerprint.js';

/** Bytes of secret in a pairing token: 128 bits, beyond any offline guessing. */
export const TOKEN_SECRET_BYTES = 16;
const SECRET_CHARS = 26;
const PREFIX = 'PGDX1';

/** A pairing token: who the accepting agent is, and a one-time secret that proves the operator sent it. */
export interface PairingToken {
  fingerprint: string;
  secret: Uint8Array;
}

/** Makes a token for the accepting agent with a fresh secret. */
export function newToken(fingerprint: string): PairingToken {
  return { fingerprint, secret: new Uint8Array(randomBytes(TOKEN_SECRET_BYTES)) };
}

/** PGDX1-<fingerprint 20>-<secret 26>, grouped so it survives copy, paste and dictation. */
export function formatToken(token: PairingToken): string {
  const body = `${token.fingerprint}${base32Encode(token.secret)}`;
  return `${PREFIX}-${body.match(/.{1,6}/g)?.join('-') ?? body}`;
}

/** Parses a token; any typo is a clear USAGE error rather than a failed handshake later. */
export function parseToken(text: string): PairingToken {
  const clean = normalizeFingerprint(text.trim());
  if (!clean.startsWith(PREFIX)) throw bad('it does not start with PGDX1-');
  const body = clean.slice(PREFIX.length);
  if (body.length !== FINGERPRINT_CHARS + SECRET_CHARS)
    throw bad(`it has ${body.length} characters after PGDX1, expected ${FINGERPRINT_CHARS + SECRET_CHARS}`);
  const fingerprint = body.slice(0, FINGERPRINT_CHARS);
  const secret = base32Decode(body.slice(FINGERPRINT_CHARS));
  if (!/^[A-Z2-7]+$/.test(fingerprint) || secret === undefined || secret.length !== TOKEN_SECRET_BYTES) {
    throw bad('it contains characters that are not in a pgduplex token (A-Z, 2-7)');
  }
  return { fingerprint, secret };
}

function bad(why: string): PgduplexError {
  return new PgduplexError('USAGE', `that is not a valid pairing token: ${why}`, {
    hint: 'copy the whole token that "pgduplex pair --accept" printed on the other node',
  });
}
