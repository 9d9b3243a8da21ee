import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { RpcEndpoint, streamResult } from '../../../shared/channel/rpc.js';
import { SecureChannel } from '../../../shared/channel/secure-channel.js';
import { sendStream, StreamInbox } from '../../../shared/channel/streams.js';
import { transportPair } from '../../support/memory-transport.js';
import { keys, limits, channelPair as pair } from './memory-pair.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const collect = async (it: AsyncIterable<Uint8Array>) => {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
};
const closed = (ch: SecureChannel) => new Promise<string | undefined>((r) => ch.onClose((e) => r(e?.code)));

describe('streams of bounded frames', () => {
  it('carry a large payload intact through an action result, in frames no larger than the limit', async () => {
    const { c, s } = pair();
    const payload = new Uint8Array(randomBytes(1_000_000));
    new RpcEndpoint(s, async () =>
      streamResult({ name: 'dump' }, [payload.subarray(0, 300_000), payload.subarray(300_000)]),
    );
    const rpc = new RpcEndpoint(c, undefined);
    const { meta, data } = await rpc.callStream('anything', {}, { timeoutMs: 5000 });
    expect(meta.name).toBe('dump');
    expect(sha(await collect(data))).toBe(sha(payload));
  });

  it('carry an empty stream', async () => {
    const { c, s } = pair();
    const inbox = new StreamInbox(s, 1 << 20);
    inbox.expect(7);
    const sent = await sendStream(c, 7, []);
    expect(sent).toEqual({ bytes: 0, chunks: 1 });
    expect((await collect(inbox.take(7))).length).toBe(0);
  });

  it('close the channel on a chunk out of order', async () => {
    const { c, s } = pair();
    new StreamInbox(s, 1 << 20).expect(1);
    const closing = closed(s);
    await c.sendChunk({ stream: 1, seq: 1, last: false, data: new Uint8Array(10) });
    expect(await closing).toBe('FRAME_INVALID');
  });

  it('close the channel on a chunk after the end', async () => {
    const { c, s } = pair();
    new StreamInbox(s, 1 << 20).expect(1);
    const closing = closed(s);
    await c.sendChunk({ stream: 1, seq: 0, last: true, data: new Uint8Array(1) });
    await c.sendChunk({ stream: 1, seq: 1, last: false, data: new Uint8Array(1) });
    expect(await closing).toBe('FRAME_INVALID');
  });

  it('close the channel when more than the cap waits unread', async () => {
    const { c, s } = pair();
    new StreamInbox(s, 10_000).expect(3);
    const closing = closed(s);
    await sendStream(c, 3, [new Uint8Array(20_000)]).catch(() => undefined);
    expect(await closing).toBe('FRAME_TOO_LARGE');
  });

  // Regression: the inbox made an entry for any stream id the peer sent, so a peer could grow it at will.
  it('close the channel on a chunk of a stream nobody announced, keeping no entry for it', async () => {
    const { c, s } = pair();
    const inbox = new StreamInbox(s, 1 << 20);
    const closing = closed(s);
    await c.sendChunk({ stream: 99, seq: 0, last: false, data: new Uint8Array(1) });
    expect(await closing).toBe('FRAME_INVALID');
    expect(inbox.open).toBe(0);
  });

  it('cap the streams open at once, and refuse an id already open', async () => {
    const capped = pair();
    const inbox = new StreamInbox(capped.s, 1 << 20, 2);
    expect([inbox.expect(1), inbox.expect(2)]).toEqual([true, true]);
    const closing = closed(capped.s);
    expect(inbox.expect(3)).toBe(false);
    expect(await closing).toBe('FRAME_INVALID');
    const again = pair();
    const twice = new StreamInbox(again.s, 1 << 20);
    twice.expect(5);
    expect(twice.expect(5)).toBe(false);
  });

  it('drop the stream of an answer to a plain call (a relayed peer.call) and keep the channel', async () => {
    const { c, s } = pair();
    new RpcEndpoint(s, async (action) =>
      action === 'dump' ? streamResult({ name: 'dump' }, [new Uint8Array(200_000)]) : { ok: true },
    );
    // Twice what this side buffers: read by nobody, it would close the channel.
    const rpc = new RpcEndpoint(c, undefined, 100_000);
    expect(await rpc.callRaw('dump', {}, { timeoutMs: 5000 })).toMatchObject({ name: 'dump', streamId: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(await rpc.callRaw('ping', {}, { timeoutMs: 5000 })).toEqual({ ok: true });
    expect(c.isClosed).toBe(false);
  });

  it('close the channel on a streamed answer to a request never sent', async () => {
    const { c, s } = pair();
    new RpcEndpoint(s, undefined);
    const closing = closed(s);
    c.send({ type: 'result-stream', id: 41, stream: 1 });
    expect(await closing).toBe('FRAME_INVALID');
  });

  it('fail the reader when the channel drops mid-stream', async () => {
    const { c, s } = pair();
    const inbox = new StreamInbox(s, 1 << 20);
    inbox.expect(2);
    await c.sendChunk({ stream: 2, seq: 0, last: false, data: new Uint8Array(5) });
    const reading = collect(inbox.take(2));
    c.close();
    await expect(reading).rejects.toMatchObject({ code: 'AGENT_UNREACHABLE' });
  });
});

describe('payload decoding (fuzz through a live channel)', () => {
  it('treats random plaintext inside a valid frame as a protocol error', async () => {
    for (let i = 0; i < 200; i++) {
      const [ct, st] = transportPair();
      const c = SecureChannel.fromKeys(ct, keys(1, 2), 'client', limits);
      const s = SecureChannel.fromKeys(st, keys(2, 1), 'server', limits).activate();
      new StreamInbox(s, 1 << 20);
      const closing = closed(s);
      const sealer = (c as unknown as { sealer: { seal(p: Uint8Array): Uint8Array } }).sealer;
      const junk = nacl.randomBytes(1 + (i % 50));
      junk[0] = i % 2 === 0 ? 0x00 : 0x02 + (i % 200);
      st.deliver(sealer.seal(junk));
      expect(await closing).toBe('FRAME_INVALID');
    }
  });
});
