import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WindowPort } from '../../../agent/peer/window-port.js';
import { PairingWindow } from '../../../agent/state/pairing-window.js';
import type { ClientClaim } from '../../../shared/channel/handshake.js';
import { createLogger } from '../../../shared/log.js';

// A real window on disk, a firewall that records what it was asked; the clock is the test's.
let dir: string;
let clock: number;
let calls: string[];
let busy: boolean;
let trust: { peer: { address: string } | undefined };
const firewall = {
  allow: async (a: string) => (calls.push(`allow ${a}`), { changed: true }),
  revoke: async (a: string) => (calls.push(`revoke ${a}`), { changed: true }),
};
const wrong: ClientClaim = { clientKey: new Uint8Array(32), mode: 'pairing', proofMatches: () => false };
const TTL = 600_000;
const ports: WindowPort[] = [];

async function start(): Promise<{ window: PairingWindow; port: WindowPort }> {
  const window = await PairingWindow.load(dir, { ttlMs: TTL, maxFailures: 5 }, () => clock);
  const port = new WindowPort({
    window,
    trust,
    firewall,
    log: createLogger('test', 'silent'),
    busy: () => busy,
    now: () => clock,
  });
  ports.push(port);
  return { window, port };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-winport-'));
  clock = Date.parse('2026-12-01T00:00:00Z');
  calls = [];
  busy = false;
  trust = { peer: undefined };
});
afterEach(async () => {
  for (const p of ports.splice(0)) p.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the agent port a pairing window opened', () => {
  it('opens after the window is on disk, and closes once the window expired', async () => {
    const { window, port } = await start();
    await port.open('10.0.0.1', 'FP');
    expect(calls).toEqual(['allow 10.0.0.1']);
    clock += TTL + 1;
    await port.settle();
    expect(calls).toEqual(['allow 10.0.0.1', 'revoke 10.0.0.1']);
    expect(window.current()?.portClosed).toBe(true);
    expect(window.describe()).toMatchObject({ open: false, locked: false, used: false });
    await port.settle();
    expect(calls).toHaveLength(2);
  });

  it('closes on its own timer when the window expires', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { port } = await start();
      await port.open('10.0.0.1', 'FP');
      clock += TTL + 1;
      vi.advanceTimersByTime(TTL + 1);
      await vi.waitFor(() => expect(calls).toContain('revoke 10.0.0.1'));
    } finally {
      vi.useRealTimers();
    }
  });

  it('closes once the window locks after wrong tokens, before it expires', async () => {
    const { window, port } = await start();
    await port.open('10.0.0.1', 'FP');
    for (let i = 0; i < 5; i++) await window.admit(wrong, '10.0.0.1').catch(() => undefined);
    await vi.waitFor(() => expect(calls).toEqual(['allow 10.0.0.1', 'revoke 10.0.0.1']));
  });

  it('stays open for the trusted peer: its sessions use the same rule', async () => {
    const { port } = await start();
    await port.open('10.0.0.1', 'FP');
    trust.peer = { address: '10.0.0.1' };
    clock += TTL + 1;
    await port.settle();
    expect(calls).toEqual(['allow 10.0.0.1']);
  });

  it('waits while a joiner that used the window is still being decided', async () => {
    const { window, port } = await start();
    await port.open('10.0.0.1', 'FP');
    const right: ClientClaim = { ...wrong, proofMatches: () => true };
    await window.admit(right, '10.0.0.1');
    busy = true;
    clock += TTL + 1;
    await port.settle();
    expect(calls).toEqual(['allow 10.0.0.1']);
    busy = false;
    await port.settle();
    expect(calls).toEqual(['allow 10.0.0.1', 'revoke 10.0.0.1']);
  });

  it('closes the port of a window it replaces for another address', async () => {
    const { port } = await start();
    await port.open('10.0.0.1', 'FP');
    await port.open('10.0.0.2', 'FP');
    expect(calls).toEqual(['allow 10.0.0.1', 'revoke 10.0.0.1', 'allow 10.0.0.2']);
    await port.open('10.0.0.2', 'FP');
    expect(calls.filter((c) => c.startsWith('revoke'))).toEqual(['revoke 10.0.0.1']);
  });

  it('closes at start-up the port of a window that ended while the agent was down', async () => {
    const first = await start();
    await first.port.open('10.0.0.1', 'FP');
    first.port.stop();
    clock += TTL + 1;
    const { window, port } = await start();
    port.watch();
    await vi.waitFor(() => expect(calls).toEqual(['allow 10.0.0.1', 'revoke 10.0.0.1']));
    await vi.waitFor(() => expect(window.current()?.portClosed).toBe(true));
  });
});
