import fc from 'fast-check';
import { anyRequest } from '../../../shared/protocol/peer-policy.js';
import nacl from 'tweetnacl';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ActionRegistry, defineHandler } from '../../../agent/actions/registry.js';
import { type ClientClaim, type Identity } from '../../../shared/channel/handshake.js';
import { RpcEndpoint } from '../../../shared/channel/rpc.js';
import { SecureChannel } from '../../../shared/channel/secure-channel.js';
import { transportPair, type MemoryTransport } from '../../support/memory-transport.js';
import { PgduplexError } from '../../../shared/errors.js';
import { defineAction, pingAction } from '../../../shared/protocol/actions.js';

const limits = { handshakeTimeoutMs: 2000, maxFrameBytes: 4096 };
const server: Identity = nacl.sign.keyPair();
const client: Identity = nacl.sign.keyPair();
const trusts = (key: Uint8Array) => (c: ClientClaim) =>
  c.mode === 'session' && Buffer.from(c.clientKey).equals(Buffer.from(key));
const hello = { type: 'hello' as const, node: 'b', version: 'test' };

const slowAction = defineAction({
  name: 'slow',
  mutates: true,
  callers: ['local', 'peer'],
  peer: anyRequest,
  params: z.strictObject({ ms: z.number() }),
  result: z.strictObject({ ok: z.boolean() }),
});

function registry(spy = vi.fn()) {
  const r = new ActionRegistry();
  // The channel is under test here, not the pair policy: every peer request is let through.
  r.peerGate = async () => undefined;
  return r.register(
    defineHandler({
      descriptor: pingAction,
      run: async () => (spy('ping'), { node: 'b', version: 't', time: new Date().toISOString() }),
    }),
    defineHandler({
      descriptor: slowAction,
      run: async ({ ms }, ctx) => {
        spy('slow');
        ctx.progress('working', 1, 2);
        await new Promise((r) => setTimeout(r, ms));
        return { ok: true };
      },
    }),
  );
}

async function connected(spy = vi.fn()) {
  const [ct, st] = transportPair();
  const accepting = SecureChannel.accept(st, server, trusts(client.publicKey), limits, hello);
  const c = await SecureChannel.connect(ct, client, { peerKey: server.publicKey }, limits);
  const s = await accepting;
  new RpcEndpoint(s, registry(spy).dispatch);
  return { c, s, ct, st, rpc: new RpcEndpoint(c, undefined), spy };
}

const closedWith = (ch: SecureChannel) => new Promise<string | undefined>((r) => ch.onClose((e) => r(e?.code)));

describe('secure channel over an in-memory duplex pair', () => {
  it('completes the handshake, confirms with hello and carries typed RPC both ways', async () => {
    const { c, rpc, s } = await connected();
    expect(c.peerHello?.node).toBe('b');
    expect(c.keys.sessionId).toBe(s.keys.sessionId);
    const r = await rpc.call(pingAction, {}, { timeoutMs: 1000 });
    expect(r.node).toBe('b');
  });

  it('relays progress events for long actions', async () => {
    const { rpc } = await connected();
    const seen: string[] = [];
    await rpc.call(slowAction, { ms: 10 }, { timeoutMs: 1000, onProgress: (m) => seen.push(m) });
    expect(seen).toEqual(['working']);
  });

  it('answers BUSY naming the running state-changing action', async () => {
    const { rpc } = await connected();
    const first = rpc.call(slowAction, { ms: 200 }, { timeoutMs: 1000 });
    await expect(rpc.call(slowAction, { ms: 1 }, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'BUSY',
      message: expect.stringContaining('slow'),
    });
    await first;
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'nope'])(
    'treats %s as an unknown action',
    async (name) => {
      const { rpc, spy } = await connected();
      await expect(rpc.callRaw(name, {}, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'UNKNOWN_ACTION' });
      expect(spy).not.toHaveBeenCalled();
    },
  );

  it('rejects params that do not match the schema before the handler runs', async () => {
    const { rpc, spy } = await connected();
    await expect(rpc.callRaw('slow', { ms: 'x' }, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'BAD_PARAMS' });
    await expect(rpc.callRaw('ping', { extra: 1 }, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'BAD_PARAMS' });
    expect(spy).not.toHaveBeenCalled();
  });

  it('refuses an unknown client key: the connection closes and no action runs', async () => {
    const spy = vi.fn();
    const [ct, st] = transportPair();
    const accepting = SecureChannel.accept(st, server, trusts(client.publicKey), limits, hello)
      .then((s) => new RpcEndpoint(s, registry(spy).dispatch))
      .catch((e: unknown) => e);
    const stranger = nacl.sign.keyPair();
    await expect(SecureChannel.connect(ct, stranger, { peerKey: server.publicKey }, limits)).rejects.toBeInstanceOf(
      PgduplexError,
    );
    expect(await accepting).toMatchObject({ code: 'PEER_NOT_TRUSTED' });
    expect(st.closed).toBe(true);
    expect(spy).not.toHaveBeenCalled();
  });

  it('drops a silent client after the handshake timeout', async () => {
    const [, st] = transportPair();
    expect(
      await SecureChannel.accept(st, server, () => true, { ...limits, handshakeTimeoutMs: 50 }, hello).catch(
        (e: unknown) => e,
      ),
    ).toMatchObject({ code: 'TIMEOUT' });
    expect(st.closed).toBe(true);
  });

  it('fails the handshake on a frame sent before it ends', async () => {
    const [ct, st] = transportPair();
    const accepting = SecureChannel.accept(st, server, trusts(client.publicKey), limits, hello).catch(
      (e: unknown) => e,
    );
    ct.send(new Uint8Array(100));
    expect(await accepting).toMatchObject({ code: 'HANDSHAKE_FAILED' });
  });

  it.each([
    ['replayed', (t: MemoryTransport) => t.sent[t.sent.length - 1]!],
    [
      'modified',
      (t: MemoryTransport) => {
        const f = t.sent[t.sent.length - 1]!.slice();
        f[5]! ^= 1;
        return f;
      },
    ],
    ['truncated', (t: MemoryTransport) => t.sent[t.sent.length - 1]!.subarray(0, 20)],
  ])('closes on a %s data frame and runs nothing for it', async (_what, forge) => {
    const { rpc, ct, s, spy } = await connected();
    await rpc.call(pingAction, {}, { timeoutMs: 1000 });
    expect(spy).toHaveBeenCalledTimes(1);
    const closing = closedWith(s);
    ct.send(forge(ct));
    expect(await closing).toBe('FRAME_INVALID');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('closes on a frame from another session', async () => {
    const one = await connected();
    const two = await connected();
    await one.rpc.call(pingAction, {}, { timeoutMs: 1000 });
    const closing = closedWith(two.s);
    two.ct.send(one.ct.sent[one.ct.sent.length - 1]!);
    expect(await closing).toBe('FRAME_INVALID');
  });

  it('survives 10,000 random frames: each closes the channel with a typed error, nothing escapes', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    const keys = {
      send: new Uint8Array(32).fill(1),
      receive: new Uint8Array(32).fill(2),
      peerKey: client.publicKey,
      sessionId: 'x',
      mode: 'session' as const,
    };
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), async (bytes) => {
          const [, st] = transportPair();
          const ch = SecureChannel.fromKeys(st, keys, 'server', limits).activate();
          const handled = vi.fn();
          new RpcEndpoint(ch, handled);
          const closing = closedWith(ch);
          st.deliver(bytes);
          expect(['FRAME_INVALID', 'FRAME_TOO_LARGE']).toContain(await closing);
          expect(st.closed).toBe(true);
          expect(handled).not.toHaveBeenCalled();
        }),
        { numRuns: 10_000 },
      );
    } finally {
      process.off('unhandledRejection', unhandled);
    }
    expect(unhandled).not.toHaveBeenCalled();
  }, 120_000);
});
