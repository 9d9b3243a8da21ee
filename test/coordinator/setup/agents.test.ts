import { defineAction } from '../../../shared/protocol/actions.js';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostRoute } from '../../../agent/http/server.js';
import { startRpcServer } from '../unix-rpc-server.js';
import { agentsVia } from '../../../coordinator/setup/agents.js';
import { PgduplexError } from '../../../shared/errors.js';

// A re-run finds an agent still busy with what a killed CLI started: it waits, then goes on.
let socket: string;
let server: Awaited<ReturnType<typeof startRpcServer>>;
let busyFor = 0;
const calls: string[] = [];

const route: PostRoute = async (body) => {
  const { action } = body as { action: string };
  calls.push(action);
  if (action === 'fail')
    return { status: 200, body: { ok: false, error: new PgduplexError('BAD_PARAMS', 'no').toJSON() } };
  if (busyFor-- > 0)
    return {
      status: 200,
      body: {
        ok: false,
        error: new PgduplexError('BUSY', 'another action is running on this agent: backup.apply').toJSON(),
      },
    };
  if (action === 'newer') return { status: 200, body: { ok: true, result: { done: action, addedLater: [1] } } };
  return { status: 200, body: { ok: true, result: { done: action } } };
};

beforeAll(async () => {
  server = await startRpcServer(route);
  socket = server.socket;
});
afterAll(() => server.close());

/** A descriptor that takes and answers anything, for calls to the fake agent. */
const raw = (name: string) =>
  defineAction({ name, mutates: false, callers: ['local'], params: z.unknown(), result: z.unknown() });

describe('agentsVia', () => {
  it('waits out BUSY, says once what it waits for, then returns the result', async () => {
    busyFor = 3;
    calls.length = 0;
    const waits: string[] = [];
    const r = await agentsVia(socket, { onWait: (m) => waits.push(m), pollMs: 10 }).call(
      'local',
      raw('sequences.apply'),
      {},
    );
    expect(r).toEqual({ done: 'sequences.apply' });
    expect(calls).toHaveLength(4);
    expect(waits).toEqual(['waiting: this agent says another action is running on this agent: backup.apply']);
  });

  it('gives up with the BUSY error once the wait is over', async () => {
    busyFor = 1000;
    const err = await agentsVia(socket, { waitMs: 50, pollMs: 10 })
      .call('local', raw('x'), {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgduplexError);
    expect((err as PgduplexError).code).toBe('BUSY');
    busyFor = 0;
  });

  it('does not retry other errors', async () => {
    calls.length = 0;
    const err = await agentsVia(socket, { pollMs: 10 })
      .call('local', raw('fail'), {})
      .catch((e: unknown) => e);
    expect((err as PgduplexError).code).toBe('BAD_PARAMS');
    expect(calls).toEqual(['fail']);
  });

  it("reads a newer agent's answer: fields it does not know are dropped, a missing one is refused", async () => {
    const typed = (name: string, result: z.ZodType) =>
      defineAction({ name, mutates: false, callers: ['local'], params: z.unknown(), result });
    const agents = agentsVia(socket, { pollMs: 10 });
    expect(await agents.call('local', typed('newer', z.strictObject({ done: z.string() })), {})).toEqual({
      done: 'newer',
    });
    const err = await agents
      .call('local', typed('older', z.strictObject({ done: z.string(), count: z.number() })), {})
      .catch((e: unknown) => e);
    expect((err as PgduplexError).code).toBe('AGENT_BAD_RESPONSE');
  });
});
