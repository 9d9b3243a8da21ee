import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL's defaults (scram_iterations, SCRAM_DEFAULT_SALT_LEN). */
export const SCRAM_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;

/** A parsed `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>` verifier as pg_authid stores it. */
export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const B64 = '[A-Za-z0-9+/]+={0,2}';
const VERIFIER = new RegExp(`^SCRAM-SHA-256\\$(\\d{1,7}):(${B64})\\$(${B64}):(${B64})$`);

/**
 * Computes the SCRAM-SHA-256 verifier (RFC 5802/7677) in the agent, so the server is only ever sent a
 * hash, never the password.
 */
export async function scramVerifier(
  password: string,
  opts: { salt?: Buffer; iterations?: number } = {},
): Promise<string> {
  const salt = opts.salt ?? randomBytes(SCRAM_SALT_BYTES);
  const iterations = opts.iterations ?? SCRAM_ITERATIONS;
  const { storedKey, serverKey } = await scramKeys(password, salt, iterations);
  return formatVerifier({ iterations, salt, storedKey, serverKey });
}

/** StoredKey and ServerKey for a password, salt and iteration count (RFC 5802 section 3). */
export async function scramKeys(
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<{ storedKey: Buffer; serverKey: Buffer }> {
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { storedKey: createHash('sha256').update(clientKey).digest(), serverKey: hmac(salted, 'Server Key') };
}

/** The text PostgreSQL recognises as an already-hashed SCRAM password. */
export function formatVerifier(v: ScramVerifier): string {
  return (
    `SCRAM-SHA-256$${v.iterations}:${v.salt.toString('base64')}$` +
    `${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`
  );
}

/** Reads a stored verifier; anything else (md5, plaintext, null) is undefined. */
export function parseVerifier(text: string | null | undefined): ScramVerifier | undefined {
  const m = text ? VERIFIER.exec(text) : null;
  if (!m) return undefined;
  const v = {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2] ?? '', 'base64'),
    storedKey: Buffer.from(m[3] ?? '', 'base64'),
    serverKey: Buffer.from(m[4] ?? '', 'base64'),
  };
  if (v.iterations < 1 || v.salt.length === 0 || v.storedKey.length !== 32 || v.serverKey.length !== 32)
    return undefined;
  return v;
}

/**
 * Whether a password is the one behind a stored verifier: recomputes the keys with its salt and
 * iterations, so the password can be compared without ever being stored.
 */
export async function verifierMatches(password: string, stored: string | null | undefined): Promise<boolean> {
  const v = parseVerifier(stored);
  if (!v) return false;
  const k = await scramKeys(password, v.salt, v.iterations);
  return timingSafeEqual(k.storedKey, v.storedKey) && timingSafeEqual(k.serverKey, v.serverKey);
}

/** HMAC-SHA-256, the PRF of SCRAM-SHA-256. */
export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
