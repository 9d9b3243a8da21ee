import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientClaim } from '../../../shared/channel/handshake.js';
import { PairingWindow } from '../../../agent/state/pairing-window.js';
import { PgduplexError } from '../../../shared/errors.js';

let dir: string;
let clock: number;
const limits = { ttlMs: 600_000, maxFailures: 5 };
const opened: PairingWindow[] = [];
const load = async () => {
  const w = await PairingWindow.load(dir, limits, () => clock);
  opened.push(w);
  return w;
};
const claimWith = (ok: (s: Uint8Array) => boolean): ClientClaim => ({
  clientKey: new Uint8Array(32),
  mode: 'pairing',
  proofMatches: ok,
});
const right = (secret: Uint8Array) => claimWith((s) => Buffer.from(s).equals(Buffer.from(secret)));
const wrong = claimWith(() => false);
const code = async (fn: () => Promise<unknown>) => {
  try {
    await fn();
    return 'ADMITTED';
  } catch (err) {
    expect(err).toBeInstanceOf(PgduplexError);
    return (err as PgduplexError).code;
  }
};
const onDisk = async () =>
  (JSON.parse(await readFile(join(dir, 'pairing.json'), 'utf8')) as { window: Record<string, unknown> | null }).window;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-window-'));
  clock = Date.parse('2026-11-23T00:00:00Z');
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.flushed().catch(() => undefined)));
  await rm(dir, { recursive: true, force: true });
});

describe('pairing window', () => {
  it('is closed until opened', async () => {
    const w = await load();
    expect(await code(() => w.admit(wrong, '10.0.0.1'))).toBe('PAIRING_CLOSED');
  });

  it('admits the right proof from the expected address once, and is then used', async () => {
    const w = await load();
    const { token } = await w.open('10.0.0.1', 'FP');
    expect(await code(() => w.admit(right(token.secret), '10.0.0.2'))).toBe('PEER_NOT_TRUSTED');
    expect(await code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('ADMITTED');
    expect(await code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('TOKEN_USED');
  });

  it('expires after its time to live', async () => {
    const w = await load();
    const { token } = await w.open('10.0.0.1', 'FP');
    clock += limits.ttlMs + 1;
    expect(await code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('TOKEN_EXPIRED');
  });

  it('locks after 5 wrong proofs; then the right one fails too, even after a restart, until reopened', async () => {
    const w = await load();
    const { token } = await w.open('10.0.0.1', 'FP');
    for (let i = 0; i < 4; i++) expect(await code(() => w.admit(wrong, '10.0.0.1'))).toBe('TOKEN_INVALID');
    expect(await code(() => w.admit(wrong, '10.0.0.1'))).toBe('TOKEN_INVALID');
    expect(await code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('PAIRING_LOCKED');
    await w.flushed();

    const restarted = await load();
    expect(restarted.describe()).toMatchObject({ open: false, locked: true, failures: 5 });
    expect(await code(() => restarted.admit(right(token.secret), '10.0.0.1'))).toBe('PAIRING_LOCKED');

    const fresh = await restarted.open('10.0.0.1', 'FP');
    expect(await code(() => restarted.admit(right(token.secret), '10.0.0.1'))).toBe('TOKEN_INVALID');
    expect(await code(() => restarted.admit(right(fresh.token.secret), '10.0.0.1'))).toBe('ADMITTED');
  });

  // Regression: the count was written after the refusal went out, so a crash right after forgot it.
  it('has a wrong proof counted on disk, and a use recorded, before admit settles', async () => {
    const w = await load();
    const { token } = await w.open('10.0.0.1', 'FP');
    expect(await code(() => w.admit(wrong, '10.0.0.1'))).toBe('TOKEN_INVALID');
    expect(await onDisk()).toMatchObject({ failures: 1, locked: false });
    expect(await code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('ADMITTED');
    expect(await onDisk()).toMatchObject({ used: true });
  });

  it('tells, from the address alone, whether a handshake may start and why not', async () => {
    const w = await load();
    expect(w.refusalFor('10.0.0.1')).toBe('PAIRING_CLOSED');
    await w.open('10.0.0.1', 'FP');
    expect(w.refusalFor('10.0.0.1')).toBeUndefined();
    expect(w.refusalFor('10.0.0.9')).toBe('PEER_NOT_TRUSTED');
    clock += limits.ttlMs + 1;
    expect(w.refusalFor('10.0.0.1')).toBe('TOKEN_EXPIRED');
    expect(w.refusalFor('10.0.0.9')).toBe('PEER_NOT_TRUSTED');
  });

  it('tells its lock listeners once the lock is on disk', async () => {
    const w = await load();
    await w.open('10.0.0.1', 'FP');
    const seen: unknown[] = [];
    w.onLocked(() => void onDisk().then((d) => seen.push(d?.['locked'])));
    for (let i = 0; i < 5; i++) await code(() => w.admit(wrong, '10.0.0.1'));
    await vi.waitFor(() => expect(seen).toEqual([true]));
  });

  it('keeps its state file root-only and never describes the secret', async () => {
    const w = await load();
    await w.open('10.0.0.1', 'FP');
    expect((await stat(join(dir, 'pairing.json'))).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(w.describe())).not.toContain('secret');
  });
});
