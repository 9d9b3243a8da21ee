import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { AgentServices } from '../../../agent/actions/context.js';
import { buildRegistry } from '../../../agent/actions/index.js';
import { dialPeer } from '../../../agent/peer/link.js';
import { checkValue, PeerService } from '../../../agent/peer/peer-service.js';
import { addressGate } from '../../../agent/peer/admission.js';
import { attachPeerServer, PeerConnectionCounts, REFUSAL_HEADER } from '../../../agent/peer/ws-server.js';
import { loadOrCreateIdentity } from '../../../agent/state/identity.js';
import { Journal } from '../../../agent/state/journal.js';
import { PairingWindow } from '../../../agent/state/pairing-window.js';
import { TrustStore } from '../../../agent/state/trust-store.js';
import { fingerprintOf } from '../../../shared/crypto/fingerprint.js';
import { newToken } from '../../../shared/crypto/token.js';
import { toPgduplexError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/log.js';

// A real agent peer endpoint on loopback, attacked over real websockets.
const limits = { handshakeTimeoutMs: 1000, maxFrameBytes: 4096, connectTimeoutMs: 1000, callTimeoutMs: 2000 };
let dir: string;
let server: Server;
let port: number;
let services: AgentServices;
let detach: () => Promise<void>;
const dispatched = vi.fn();
const counts = new PeerConnectionCounts();
const client = nacl.sign.keyPair();
const clientId = { ...client, fingerprint: fingerprintOf(client.publicKey) };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-ws-'));
  const identity = await loadOrCreateIdentity(dir);
  const trust = await TrustStore.load(dir);
  const window = await PairingWindow.load(dir, { ttlMs: 60_000, maxFailures: 5 });
  const firewall = { allow: async () => ({ changed: false }), revoke: async () => ({ changed: false }) };
  services = {
    node: 'b',
    port: 0,
    identity,
    trust,
    window,
    firewall,
    journal: Journal.in(dir),
    limits: { toolTimeoutMs: 5000 },
    pair: { databases: ['fusionpbx'], schemas: ['public'] },
  } as unknown as AgentServices;
  const registry = buildRegistry(services);
  const log = createLogger('test', 'silent');
  services.peers = new PeerService({
    ...services,
    limits,
    log,
    dispatch: (a, p, c) => {
      dispatched(a);
      return registry.dispatch(a, p, c);
    },
  });
  server = createServer();
  detach = attachPeerServer(
    server,
    {
      maxFrameBytes: limits.maxFrameBytes,
      maxPendingHandshakes: 8,
      maxPendingHandshakesPerAddress: 4,
      helloTimeoutMs: 300,
    },
    { gate: addressGate(trust, window), log, counts },
    (t) => services.peers.accept(t),
  );
  // Dual-stack, as the agent listens ("::"): IPv4 clients show as ::ffff:127.0.0.1.
  await new Promise<void>((r) => server.listen(0, '::', r));
  port = (server.address() as AddressInfo).port;
  await trust.add({
    node: 'a',
    address: '127.0.0.1',
    port,
    publicKey: Buffer.from(client.publicKey).toString('base64'),
    fingerprint: clientId.fingerprint,
    pairedAt: 'now',
  });
});

afterAll(async () => {
  await detach();
  await new Promise((r) => server.close(r));
  await services.window.flushed();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => dispatched.mockClear());

const raw = (path = '/v1/peer', localAddress?: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false, localAddress });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
const closeCode = (ws: WebSocket) => new Promise<number>((r) => ws.once('close', (code) => r(code)));
const dial = (id = clientId, expect: Parameters<typeof dialPeer>[2] = { peerKey: services.identity.publicKey }) =>
  dialPeer({ address: '127.0.0.1', port }, id, expect, limits, undefined);

describe('peer websocket endpoint', () => {
  it('serves the paired client', async () => {
    const s = await dial();
    expect(await s.rpc.callRaw('ping', {}, { timeoutMs: 1000 })).toMatchObject({ node: 'b' });
    s.channel.close();
    expect(dispatched).toHaveBeenCalledWith('ping');
  });

  it('never lets the peer run local-only actions such as relaying or unpairing', async () => {
    const s = await dial();
    for (const action of ['peer.call', 'unpair', 'pair.accept', 'pair.connect', 'peers.list']) {
      await expect(s.rpc.callRaw(action, {}, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'UNKNOWN_ACTION' });
    }
    s.channel.close();
  });

  it('refuses an unknown key before anything is dispatched', async () => {
    const stranger = nacl.sign.keyPair();
    const err = await dial({ ...stranger, fingerprint: fingerprintOf(stranger.publicKey) }).catch(toPgduplexError);
    expect(err).toMatchObject({ code: 'PEER_NOT_TRUSTED' });
    expect(dispatched).not.toHaveBeenCalled();
  });

  it('answers other paths with 404', async () => {
    await expect(raw('/v1/other')).rejects.toThrow('404');
  });

  it.each([
    ['a text frame', (ws: WebSocket) => ws.send('hello')],
    ['random bytes as the first message', (ws: WebSocket) => ws.send(nacl.randomBytes(66))],
    ['an oversized frame', (ws: WebSocket) => ws.send(new Uint8Array(10_000))],
    ['a wrong protocol version', (ws: WebSocket) => ws.send(Uint8Array.of(0x01, 0x02, ...nacl.randomBytes(64)))],
  ])('closes on %s and dispatches nothing', async (_what, attack) => {
    const ws = await raw();
    const closed = closeCode(ws);
    attack(ws);
    expect(await closed).toBeGreaterThanOrEqual(1002);
    expect(dispatched).not.toHaveBeenCalled();
  });

  it('drops a client that says nothing once the hello timeout passes, not the whole handshake time', async () => {
    const ws = await raw();
    const reason = new Promise<string>((r) => ws.once('close', (_code, why) => r(why.toString())));
    expect(await closeCode(ws)).toBe(1008);
    expect(await reason).toBe('no hello in time');
  });

  it('refuses an address that is neither the peer nor a pairing window at the upgrade: no websocket, no crypto', async () => {
    const before = { ...counts };
    const refused = await new Promise<{ status?: number; code?: unknown }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/peer`, { localAddress: '127.0.0.2' });
      ws.once('open', () => reject(new Error('the websocket was accepted')));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode, code: res.headers[REFUSAL_HEADER] });
        ws.terminate();
      });
      ws.once('error', reject);
    });
    expect(refused).toEqual({ status: 403, code: 'PEER_NOT_TRUSTED' });
    expect(counts).toMatchObject({ refused: before.refused + 1, handshakes: before.handshakes });
    expect(dispatched).not.toHaveBeenCalled();
  });

  it('caps pending handshakes per address: a fifth silent socket from one address gets 503', async () => {
    const silent = await Promise.all([1, 2, 3, 4].map(() => raw()));
    await expect(raw()).rejects.toThrow('503');
    for (const ws of silent) ws.terminate();
  });

  it('locks pairing after 5 wrong tokens; the right one then fails until the window is reopened', async () => {
    await services.trust.remove();
    const fp = services.identity.fingerprint;
    const { token } = await services.window.open('127.0.0.1', fp);
    const stranger = nacl.sign.keyPair();
    const sid = { ...stranger, fingerprint: fingerprintOf(stranger.publicKey) };
    for (let i = 0; i < 5; i++) {
      const e = await dial(sid, { fingerprint: fp, pairingSecret: newToken(fp).secret }).catch(toPgduplexError);
      expect(e).toMatchObject({ code: 'TOKEN_INVALID' });
    }
    expect(await dial(sid, { fingerprint: fp, pairingSecret: token.secret }).catch(toPgduplexError)).toMatchObject({
      code: 'PAIRING_LOCKED',
    });
    const reopened = await services.window.open('127.0.0.1', fp, sid.fingerprint);
    const s = await dial(sid, { fingerprint: fp, pairingSecret: reopened.token.secret });
    expect(await s.rpc.callRaw('pair.complete', { node: 'x', port: 1 }, { timeoutMs: 1000 })).toEqual({ node: 'b' });
    s.channel.close();
    expect(services.trust.peer?.node).toBe('x');
    expect(dispatched).not.toHaveBeenCalled();
  });

  // Regression: b's `pair --accept` polls until the window is closed, then shows the check code; the code
  // was set only after the window closed, so a poll in between showed the previous pairing's.
  it("shows the check code of the session that closed the window, never an earlier pairing's", async () => {
    await services.trust.remove();
    services.peers.lastPairing = { node: 'old', fingerprint: 'x', check: 'STALE-CODE', at: 'then' };
    const fp = services.identity.fingerprint;
    const joiner = nacl.sign.keyPair();
    const { token } = await services.window.open('127.0.0.1', fp, fingerprintOf(joiner.publicKey));
    const close = services.window.close.bind(services.window);
    let seenAtClose: string | undefined;
    services.window.close = async () => {
      seenAtClose = services.peers.lastPairing?.check;
      return close();
    };
    try {
      const s = await dial(
        { ...joiner, fingerprint: fingerprintOf(joiner.publicKey) },
        { fingerprint: fp, pairingSecret: token.secret },
      );
      await s.rpc.callRaw('pair.complete', { node: 'y', port: 1 }, { timeoutMs: 1000 });
      expect(seenAtClose).toBe(checkValue(s.channel.keys.sessionId));
      expect(services.peers.lastPairing?.check).toBe(checkValue(s.channel.keys.sessionId));
      s.channel.close();
    } finally {
      services.window.close = close;
    }
    await services.peers.unpair(false);
    expect(services.peers.lastPairing).toBeUndefined();
  });

  // A token alone is not enough: the accepting node's operator confirms the joiner, or refuses it.
  it('trusts a joiner only once its operator confirms it, and nobody when the operator refuses', async () => {
    const fp = services.identity.fingerprint;
    for (const accept of [false, true]) {
      await services.trust.remove();
      const { token } = await services.window.open('127.0.0.1', fp);
      const joiner = nacl.sign.keyPair();
      const jfp = fingerprintOf(joiner.publicKey);
      const s = await dial({ ...joiner, fingerprint: jfp }, { fingerprint: fp, pairingSecret: token.secret });
      const completing = s.rpc.callRaw('pair.complete', { node: 'z', port: 1 }, { timeoutMs: 5000 }).then(
        () => 'paired',
        (e: unknown) => toPgduplexError(e).code,
      );
      await vi.waitFor(() => expect(services.peers.gate.waiting?.fingerprint).toBe(jfp));
      expect(services.trust.peer).toBeUndefined();
      expect(() => services.peers.gate.decide(fingerprintOf(nacl.sign.keyPair().publicKey), true)).toThrow(/not/);
      services.peers.gate.decide(jfp, accept);
      expect(await completing).toBe(accept ? 'paired' : 'NOT_CONFIRMED');
      expect(services.trust.peer?.fingerprint).toBe(accept ? jfp : undefined);
      s.channel.close();
    }
  });

  it('refuses a joiner whose key is not the fingerprint given in advance, and stores nothing', async () => {
    await services.trust.remove();
    const fp = services.identity.fingerprint;
    const { token } = await services.window.open('127.0.0.1', fp, fingerprintOf(nacl.sign.keyPair().publicKey));
    const joiner = nacl.sign.keyPair();
    const s = await dial(
      { ...joiner, fingerprint: fingerprintOf(joiner.publicKey) },
      { fingerprint: fp, pairingSecret: token.secret },
    );
    const e = await s.rpc.callRaw('pair.complete', { node: 'w', port: 1 }, { timeoutMs: 5000 }).catch(toPgduplexError);
    expect(e).toMatchObject({ code: 'PEER_KEY_MISMATCH' });
    expect(services.trust.peer).toBeUndefined();
    expect(services.window.describe().open).toBe(false);
    s.channel.close();
  });

  // Regression: the pairing channel kept serving pair.complete, so a joiner could call it again after an
  // unpair (or while the window was open for another node) and be trusted with no token.
  it('serves one pair.complete per pairing channel, only for the window it came through, with a valid name and port', async () => {
    const fp = services.identity.fingerprint;
    const joiner = nacl.sign.keyPair();
    const jid = { ...joiner, fingerprint: fingerprintOf(joiner.publicKey) };
    const open = async () => (await services.window.open('127.0.0.1', fp, jid.fingerprint)).token.secret;
    await services.trust.remove();

    let s = await dial(jid, { fingerprint: fp, pairingSecret: await open() });
    expect(
      await s.rpc.callRaw('pair.complete', { node: 'x\u001b[2J', port: 1 }, { timeoutMs: 1000 }).catch(toPgduplexError),
    ).toMatchObject({ code: 'BAD_PARAMS' });
    expect(
      await s.rpc.callRaw('pair.complete', { node: 'x', port: 1 }, { timeoutMs: 1000 }).catch(toPgduplexError),
    ).toMatchObject({ code: 'PAIRING_CLOSED' });
    s.channel.close();
    s = await dial(jid, { fingerprint: fp, pairingSecret: await open() });
    expect(
      await s.rpc.callRaw('pair.complete', { node: 'x', port: 99_999 }, { timeoutMs: 1000 }).catch(toPgduplexError),
    ).toMatchObject({ code: 'BAD_PARAMS' });
    s.channel.close();

    s = await dial(jid, { fingerprint: fp, pairingSecret: await open() });
    await services.window.open('127.0.0.1', fp, jid.fingerprint);
    expect(
      await s.rpc.callRaw('pair.complete', { node: 'v', port: 1 }, { timeoutMs: 1000 }).catch(toPgduplexError),
    ).toMatchObject({ code: 'PAIRING_CLOSED' });
    expect(services.trust.peer).toBeUndefined();
    s.channel.close();

    s = await dial(jid, { fingerprint: fp, pairingSecret: await open() });
    expect(await s.rpc.callRaw('pair.complete', { node: 'v', port: 1 }, { timeoutMs: 1000 })).toEqual({ node: 'b' });
    await services.peers.unpair(false);
    expect(
      await s.rpc.callRaw('pair.complete', { node: 'v', port: 1 }, { timeoutMs: 1000 }).catch(toPgduplexError),
    ).toHaveProperty('code');
    expect(services.trust.peer).toBeUndefined();
  });
});
