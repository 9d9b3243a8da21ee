import { describe, expect, it } from 'vitest';
import { anyRequest } from '../../../shared/protocol/peer-policy.js';
import { z } from 'zod';
import { ActionRegistry, defineHandler } from '../../../agent/actions/registry.js';
import { defineAction } from '../../../shared/protocol/actions.js';

// A stop lets the running change finish (and journal itself) before the agent exits.
const change = defineAction({
  name: 'change',
  mutates: true,
  callers: ['local', 'peer'],
  peer: anyRequest,
  params: z.strictObject({ ms: z.number() }),
  result: z.strictObject({ done: z.boolean() }),
});
const readNamed = (name: string) =>
  defineAction({
    name,
    mutates: false,
    callers: ['local', 'peer'],
    peer: anyRequest,
    params: z.strictObject({}),
    result: z.strictObject({ ok: z.boolean() }),
  });
const read = readNamed('read');
const ctx = { origin: 'local' as const, requestId: 't', progress: () => undefined };
const registry = () =>
  new ActionRegistry().register(
    defineHandler({
      descriptor: change,
      run: async ({ ms }) => (await new Promise((r) => setTimeout(r, ms)), { done: true }),
    }),
    defineHandler({ descriptor: read, run: async () => ({ ok: true }) }),
  );

describe('ActionRegistry.drain', () => {
  it('waits for the running change to finish, then refuses new changes but still answers reads', async () => {
    const r = registry();
    const running = r.dispatch('change', { ms: 80 }, ctx);
    let drained = false;
    const drain = r.drain(5000).then((cut) => ((drained = true), cut));
    await new Promise((res) => setTimeout(res, 20));
    expect(drained).toBe(false);
    await expect(r.dispatch('change', { ms: 1 }, ctx)).rejects.toMatchObject({
      code: 'BUSY',
      message: 'the agent is stopping',
    });
    expect(await running).toEqual({ done: true });
    expect(await drain).toBeUndefined();
    expect(await r.dispatch('read', {}, ctx)).toEqual({ ok: true });
  });

  it('resolves at once when idle, and names the action still running when the limit passes', async () => {
    expect(await registry().drain(10)).toBeUndefined();
    const r = registry();
    const running = r.dispatch('change', { ms: 200 }, ctx);
    expect(await r.drain(20)).toBe('change');
    await running;
  });
});

describe('ActionRegistry names', () => {
  const renamed = defineAction({
    name: 'thing.read',
    aliases: ['thing-read'],
    mutates: false,
    callers: ['local'],
    params: z.strictObject({}),
    result: z.strictObject({ ok: z.boolean() }),
  });
  const r = new ActionRegistry().register(defineHandler({ descriptor: renamed, run: async () => ({ ok: true }) }));

  it('answers to a name an earlier version used, and counts it under the current name', async () => {
    expect(await r.dispatch('thing-read', {}, ctx)).toEqual({ ok: true });
    expect(r.names()).toEqual(['thing.read']);
  });

  it('refuses a caller the descriptor does not name, as an unknown action', async () => {
    await expect(r.dispatch('thing.read', {}, { ...ctx, origin: 'peer' })).rejects.toMatchObject({
      code: 'UNKNOWN_ACTION',
    });
  });
});

describe('ActionRegistry: reads the peer runs at once', () => {
  const peer = { ...ctx, origin: 'peer' as const };
  const slowRead = readNamed('slow-read');
  const gated = (max: number) => {
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const r = new ActionRegistry().register(
      defineHandler({ descriptor: slowRead, run: async () => (await gate, { ok: true }) }),
      defineHandler({ descriptor: read, run: async () => ({ ok: true }) }),
    );
    r.peerGate = async () => undefined;
    r.maxPeerReads = max;
    return { r, release };
  };

  it('are capped: one over the cap gets BUSY naming the limit; a slot ends, the next one runs', async () => {
    const { r, release } = gated(3);
    const running = [1, 2, 3].map(() => r.dispatch('slow-read', {}, peer));
    const refused = await r.dispatch('read', {}, peer).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BUSY', hint: expect.stringContaining('limits.maxConcurrentPeerCalls') });
    expect(await r.dispatch('read', {}, ctx)).toEqual({ ok: true });
    release();
    expect(await Promise.all(running)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(await r.dispatch('read', {}, peer)).toEqual({ ok: true });
  });

  it('give their slot back when the policy refuses them', async () => {
    const { r } = gated(1);
    r.peerGate = async () => {
      throw new Error('refused');
    };
    for (let i = 0; i < 3; i++) await expect(r.dispatch('read', {}, peer)).rejects.toThrow('refused');
    r.peerGate = async () => undefined;
    expect(await r.dispatch('read', {}, peer)).toEqual({ ok: true });
  });
});
