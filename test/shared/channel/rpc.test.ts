import { describe, expect, it } from 'vitest';
import { RpcEndpoint } from '../../../shared/channel/rpc.js';
import { channelPair as pair, limits } from './memory-pair.js';

/** About `n` table rows, as an action listing per-table checksums would answer. */
const tables = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    schema: 'public',
    name: `v_table_with_a_long_name_${i}`,
    rows: i * 7,
    checksum: `${i}`.padStart(32, 'f'),
  }));

describe('RpcEndpoint: requests and answers of any size', () => {
  it('sends a small result as one response', async () => {
    const { c, s, frames } = pair();
    new RpcEndpoint(s, async () => ({ ok: 1 }));
    expect(await new RpcEndpoint(c, undefined).callRaw('x', {}, { timeoutMs: 5000 })).toEqual({ ok: 1 });
    expect(frames()).toHaveLength(1);
  });

  it('streams a result larger than a frame in bounded frames, and the caller gets it whole', async () => {
    const { c, s, frames } = pair();
    const big = tables(2000);
    new RpcEndpoint(s, async () => big);
    const got = await new RpcEndpoint(c, undefined).callRaw('table-checksums', {}, { timeoutMs: 5000 });
    expect(got).toEqual(big);
    expect(JSON.stringify(big).length).toBeGreaterThan(40 * limits.maxFrameBytes);
    expect(frames().length).toBeGreaterThan(40);
    expect(Math.max(...frames())).toBeLessThanOrEqual(limits.maxFrameBytes + 16);
  });

  it('keeps the session usable after a streamed result, with calls in flight on both sides', async () => {
    const { c, s } = pair();
    new RpcEndpoint(s, async (action) => (action === 'big' ? tables(500) : action));
    const rpc = new RpcEndpoint(c, undefined);
    const [big, small] = await Promise.all([
      rpc.callRaw('big', {}, { timeoutMs: 5000 }),
      rpc.callRaw('small', {}, { timeoutMs: 5000 }),
    ]);
    expect(big).toHaveLength(500);
    expect(small).toBe('small');
    expect(await rpc.callRaw('again', {}, { timeoutMs: 5000 })).toBe('again');
  });

  it('answers with a typed error when a result exceeds the result limit, and the session goes on', async () => {
    const { c, s } = pair();
    new RpcEndpoint(s, async (action) => (action === 'huge' ? tables(2000) : 'fine'), 1 << 20, 50_000);
    const rpc = new RpcEndpoint(c, undefined);
    await expect(rpc.callRaw('huge', {}, { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'FRAME_TOO_LARGE',
      message: expect.stringContaining('the answer is'),
    });
    expect(await rpc.callRaw('next', {}, { timeoutMs: 5000 })).toBe('fine');
  });

  it('refuses a streamed answer larger than its own limit, reading it to the end so the session goes on', async () => {
    const { c, s } = pair();
    new RpcEndpoint(s, async (action) => (action === 'big' ? tables(2000) : 'fine'));
    const rpc = new RpcEndpoint(c, undefined, 1 << 20, 50_000);
    await expect(rpc.callRaw('big', {}, { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'FRAME_TOO_LARGE',
      message: expect.stringContaining("the peer's answer is"),
    });
    expect(await rpc.callRaw('next', {}, { timeoutMs: 5000 })).toBe('fine');
  });

  it('streams params larger than a frame, and the action gets them whole', async () => {
    const { c, s } = pair();
    const big = tables(2000);
    let got: unknown;
    new RpcEndpoint(s, async (action, params) => {
      got = params;
      return action;
    });
    const rpc = new RpcEndpoint(c, undefined);
    expect(await rpc.callRaw('publication.apply', { list: big }, { timeoutMs: 5000 })).toBe('publication.apply');
    expect(got).toEqual({ list: big });
    expect(await rpc.callRaw('next', { small: true }, { timeoutMs: 5000 })).toBe('next');
  });

  it('refuses params over the limit before sending anything, with a typed error naming the action', async () => {
    const { c, s } = pair();
    let calls = 0;
    new RpcEndpoint(s, async () => ++calls);
    const rpc = new RpcEndpoint(c, undefined, 1 << 20, 50_000);
    await expect(rpc.callRaw('publication.apply', { list: tables(2000) }, { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'FRAME_TOO_LARGE',
      message: expect.stringContaining('the request for publication.apply is'),
    });
    expect(calls).toBe(0);
    expect(await rpc.callRaw('next', {}, { timeoutMs: 5000 })).toBe(1);
  });

  it('answers a streamed request over its own limit with a typed error, without running the action', async () => {
    const { c, s } = pair();
    let calls = 0;
    new RpcEndpoint(s, async () => ++calls, 1 << 20, 50_000);
    const rpc = new RpcEndpoint(c, undefined);
    await expect(rpc.callRaw('publication.apply', { list: tables(2000) }, { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'FRAME_TOO_LARGE',
    });
    expect(calls).toBe(0);
    expect(await rpc.callRaw('next', {}, { timeoutMs: 5000 })).toBe(1);
  });
});
