import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyRequest } from '../../shared/protocol/peer-policy.js';
import { z } from 'zod';
import type { PostRoute } from '../../agent/http/server.js';
import { startRpcServer } from './unix-rpc-server.js';
import { callAgent } from '../../coordinator/agent-client.js';
import { PgduplexError } from '../../shared/errors.js';
import { defineAction } from '../../shared/protocol/actions.js';

// The CLI's side of the root-only socket: typed calls, progress as it happens, typed errors back.
const countAction = defineAction({
  name: 'count',
  mutates: false,
  callers: ['local', 'peer'],
  peer: anyRequest,
  params: z.strictObject({ to: z.number() }),
  result: z.strictObject({ counted: z.number() }),
});
let socket: string;
let server: Awaited<ReturnType<typeof startRpcServer>>;

const route: PostRoute = async (body, emit) => {
  const { action, params } = body as { action: string; params: { to: number } };
  if (action !== 'count')
    return {
      status: 200,
      body: { ok: false, error: new PgduplexError('UNKNOWN_ACTION', `unknown action "${action}"`).toJSON() },
    };
  for (let i = 1; i <= params.to; i++) {
    emit({ message: `step ${i}`, done: i, total: params.to });
    await new Promise((r) => setTimeout(r, 5));
  }
  return { status: 200, body: { ok: true, result: { counted: params.to } } };
};

beforeAll(async () => {
  server = await startRpcServer(route);
  socket = server.socket;
});
afterAll(() => server.close());

describe('callAgent over the unix socket', () => {
  it('returns the typed result and delivers progress events in order', async () => {
    const seen: string[] = [];
    const r = await callAgent(
      socket,
      countAction,
      { to: 3 },
      { onProgress: (e) => seen.push(`${e.message} ${e.done}/${e.total}`) },
    );
    expect(r).toEqual({ counted: 3 });
    expect(seen).toEqual(['step 1 1/3', 'step 2 2/3', 'step 3 3/3']);
  });

  it("rebuilds the agent's typed error", async () => {
    const other = { ...countAction, name: 'nope' };
    await expect(callAgent(socket, other, { to: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_ACTION' });
  });
});

describe('callAgent when the agent dies mid-answer', () => {
  it('rejects with AGENT_UNREACHABLE, never resolves nothing (a killed agent is not a success)', async () => {
    const { createServer } = await import('node:http');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'pgdx-cut-'));
    const path = join(dir, 'agent.sock');
    const dying = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ type: 'progress', message: 'working' })}\n`);
      setTimeout(() => res.socket?.destroy(), 50);
    });
    await new Promise<void>((r) => dying.listen(path, r));
    try {
      const seen: string[] = [];
      await expect(
        callAgent(path, countAction, { to: 1 }, { onProgress: (e) => seen.push(e.message) }),
      ).rejects.toMatchObject({ code: 'AGENT_UNREACHABLE', message: expect.stringContaining('stopped before') });
      expect(seen).toEqual(['working']);
    } finally {
      dying.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
