import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
const code = (fn: () => void) => {
  try {
    fn();
    return 'ADMITTED';
  } catch (err) {
    expect(err).toBeInstanceOf(PgduplexError);
    return (err as PgduplexError).code;
  }
};

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
    expect(code(() => w.admit(wrong, '10.0.0.1'))).toBe('PAIRING_CLOSED');
  });

  it('admits the right proof from the expected address once, and is then used', async () => {
    const w = await load();
    const { token } = await w.open('10.0.0.1', 'FP');
    expect(code(() => w.admit(right(token.secret), '10.0.0.2'))).toBe('PEER_NOT_TRUSTED');
    expect(code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('ADMITTED');
    expect(code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('TOKEN_USED');
  });

  it('expires after its time to live', async () => {
    const w = await load();
    const { token } = await w.open('10.0.0.1', 'FP');
    clock += limits.ttlMs + 1;
    expect(code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('TOKEN_EXPIRED');
  });

  it('locks after 5 wrong proofs; then the right one fails too, even after a restart, until reopened', async () => {
    const w = await load();
    const { token } = await w.open('10.0.0.1', 'FP');
    for (let i = 0; i < 4; i++) expect(code(() => w.admit(wrong, '10.0.0.1'))).toBe('TOKEN_INVALID');
    expect(code(() => w.admit(wrong, '10.0.0.1'))).toBe('TOKEN_INVALID');
    expect(code(() => w.admit(right(token.secret), '10.0.0.1'))).toBe('PAIRING_LOCKED');
    await w.flushed();

    const restarted = await load();
    expect(restarted.describe()).toMatchObject({ open: false, locked: true, failures: 5 });
    expect(code(() => restarted.admit(right(token.secret), '10.0.0.1'))).toBe('PAIRING_LOCKED');

    const fresh = await restarted.open('10.0.0.1', 'FP');
    expect(code(() => restarted.admit(right(token.secret), '10.0.0.1'))).toBe('TOKEN_INVALID');
    expect(code(() => restarted.admit(right(fresh.token.secret), '10.0.0.1'))).toBe('ADMITTED');
  });

  it('keeps its state file root-only and never describes the secret', async () => {
    const w = await load();
    await w.open('10.0.0.1', 'FP');
    expect((await stat(join(dir, 'pairing.json'))).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(w.describe())).not.toContain('secret');
  });
});
