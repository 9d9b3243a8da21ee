import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../../../agent/state/identity.js';
import { TrustStore } from '../../../agent/state/trust-store.js';

let root: string;
let dir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pgdx-id-'));
  dir = join(root, 'state');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('agent identity', () => {
  it('is created once, 0600 in a 0700 dir, and the same on every later start', async () => {
    const first = await loadOrCreateIdentity(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'identity.json'))).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateIdentity(dir);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(Buffer.from(again.publicKey).equals(Buffer.from(first.publicKey))).toBe(true);
  });

  it('refuses a key file others can read', async () => {
    await loadOrCreateIdentity(dir);
    await chmod(join(dir, 'identity.json'), 0o644);
    await expect(loadOrCreateIdentity(dir)).rejects.toMatchObject({
      code: 'KEY_FILE_INSECURE',
      message: expect.stringContaining('mode 0644'),
    });
  });

  it('refuses a state dir others can enter', async () => {
    await loadOrCreateIdentity(dir);
    await chmod(dir, 0o755);
    await expect(loadOrCreateIdentity(dir)).rejects.toMatchObject({ code: 'KEY_FILE_INSECURE' });
  });

  it('refuses a damaged identity file instead of silently making a new one', async () => {
    await loadOrCreateIdentity(dir);
    await writeFile(join(dir, 'identity.json'), '{"version":1,"secretKey":"AAAA","createdAt":"x"}', { mode: 0o600 });
    await expect(loadOrCreateIdentity(dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('trust store', () => {
  const peer = {
    node: 'b',
    address: '10.0.0.2',
    port: 7740,
    publicKey: Buffer.alloc(32, 1).toString('base64'),
    fingerprint: 'F',
    pairedAt: 'now',
  };

  it('persists the one peer and trusts only its key', async () => {
    await loadOrCreateIdentity(dir);
    const t = await TrustStore.load(dir);
    await t.add(peer);
    const reloaded = await TrustStore.load(dir);
    expect(reloaded.peer).toEqual(peer);
    expect(reloaded.trusts(new Uint8Array(32).fill(1))).toBe(true);
    expect(reloaded.trusts(new Uint8Array(32).fill(2))).toBe(false);
  });

  it('refuses a second, different peer', async () => {
    await loadOrCreateIdentity(dir);
    const t = await TrustStore.load(dir);
    await t.add(peer);
    await expect(t.add({ ...peer, publicKey: Buffer.alloc(32, 2).toString('base64') })).rejects.toMatchObject({
      code: 'ALREADY_PAIRED',
    });
    await t.remove();
    expect((await TrustStore.load(dir)).peer).toBeUndefined();
  });
});
