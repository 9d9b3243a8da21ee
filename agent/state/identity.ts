import { join } from 'node:path';
import nacl from 'tweetnacl';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { fingerprintOf } from '../../shared/crypto/fingerprint.js';
import type { Identity } from '../../shared/channel/handshake.js';
import { ensurePrivateDir, readPrivateJson, writePrivateJson } from './private-files.js';

const fileSchema = z.strictObject({ version: z.literal(1), secretKey: z.base64(), createdAt: z.string() });

/** The agent's identity with its fingerprint; the secret key never leaves this process. */
export interface AgentIdentity extends Identity {
  fingerprint: string;
}

/** Loads the Ed25519 identity from the state dir, creating it on first start (0600 in a 0700 dir). */
export async function loadOrCreateIdentity(stateDir: string): Promise<AgentIdentity> {
  await ensurePrivateDir(stateDir);
  const path = join(stateDir, 'identity.json');
  const raw = await readPrivateJson(path);
  if (raw === undefined) {
    const pair = nacl.sign.keyPair();
    await writePrivateJson(path, {
      version: 1,
      secretKey: Buffer.from(pair.secretKey).toString('base64'),
      createdAt: new Date().toISOString(),
    });
    return { ...pair, fingerprint: fingerprintOf(pair.publicKey) };
  }
  const parsed = fileSchema.safeParse(raw);
  const secret = parsed.success ? new Uint8Array(Buffer.from(parsed.data.secretKey, 'base64')) : undefined;
  if (secret?.length !== nacl.sign.secretKeyLength) {
    throw new PgduplexError('CONFIG_INVALID', `${path} does not hold a pgduplex identity`, {
      hint: 'restore it from a backup; removing it creates a new identity and the pairing must be redone',
    });
  }
  const pair = nacl.sign.keyPair.fromSecretKey(secret);
  return { ...pair, fingerprint: fingerprintOf(pair.publicKey) };
}
