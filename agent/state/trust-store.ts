import { join } from 'node:path';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { readPrivateJson, writePrivateJson } from './private-files.js';

const peerSchema = z.strictObject({
  node: z.string(),
  address: z.string(),
  port: z.number().int(),
  publicKey: z.base64(),
  fingerprint: z.string(),
  pairedAt: z.string(),
});
const fileSchema = z.strictObject({ version: z.literal(1), peers: z.array(peerSchema).max(1) });

/** A paired peer as stored: where it is, which key it must present, and since when. */
export type TrustedPeer = z.infer<typeof peerSchema>;

/** The agent's trust store: the one peer it accepts sessions from (peers.json, 0600). */
export class TrustStore {
  private constructor(
    private readonly path: string,
    private peers: TrustedPeer[],
  ) {}

  static async load(stateDir: string): Promise<TrustStore> {
    const path = join(stateDir, 'peers.json');
    const raw = await readPrivateJson(path);
    if (raw === undefined) return new TrustStore(path, []);
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success)
      throw new PgduplexError('CONFIG_INVALID', `${path} is not a valid pgduplex trust store`, {
        hint: 'restore it from a backup, or remove it and pair again',
      });
    return new TrustStore(path, parsed.data.peers);
  }

  get peer(): TrustedPeer | undefined {
    return this.peers[0];
  }

  /** Whether a key (base64) belongs to the paired peer. */
  trusts(publicKey: Uint8Array): boolean {
    return this.peer?.publicKey === Buffer.from(publicKey).toString('base64');
  }

  async add(peer: TrustedPeer): Promise<void> {
    const existing = this.peer;
    if (existing && existing.publicKey !== peer.publicKey) {
      throw new PgduplexError(
        'ALREADY_PAIRED',
        `this node is already paired with ${existing.node} ` +
          `(${existing.address}, ${formatFingerprint(existing.fingerprint)})`,
        {
          hint: 'run "pgduplex unpair" first if you mean to replace it',
        },
      );
    }
    await this.save([peer]);
  }

  async remove(): Promise<TrustedPeer | undefined> {
    const old = this.peer;
    await this.save([]);
    return old;
  }

  private async save(peers: TrustedPeer[]): Promise<void> {
    await writePrivateJson(this.path, { version: 1, peers });
    this.peers = peers;
  }
}
