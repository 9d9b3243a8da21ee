import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listenUnix } from '../../agent/http/listen.js';
import { createHttpServer, type PostRoute } from '../../agent/http/server.js';
import { callAgent } from '../../coordinator/agent-client.js';
import { PgduplexError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import { defineAction } from '../../shared/protocol/actions.js';

// The CLI's side of the root-only socket: typed calls, progress as it happens, typed errors back.
const countAction = defineAction({ name: 'count', mutates: false, params: z.strictObject({ to: z.number() }), result: z.strictObject({ counted: z.number() }) });
let dir: string;
let socket: string;
let server: Server;

const route: PostRoute = async (body, emit) => {
  const { action, params } = body as { action: string; params: { to: number } };
  if (action !== 'count') return { status: 200, body: { ok: false, error: new PgduplexError('UNKNOWN_ACTION', `unknown action "${action}"`).toJSON() } };
  for (let i = 1; i <= params.to; i++) {
    emit({ message: `step ${i}`, done: i, total: params.to });
    await new Promise((r) => setTimeout(r, 5));
  }
  return { status: 200, body: { ok: true, result: { counted: params.to } } };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-sock-'));
  socket = join(dir, 'agent.sock');
  server = createHttpServer(new Map(), { maxBodyBytes: 64, maxHeaderBytes: 8192, requestTimeoutMs: 5000 }, createLogger('t', 'silent'), { routes: new Map([['/v1/rpc', route]]), maxBodyBytes: 4096 });
  await listenUnix(server, socket);
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('callAgent over the unix socket', () => {
  it('returns the typed result and delivers progress events in order', async () => {
    const seen: string[] = [];
    const r = await callAgent(socket, countAction, { to: 3 }, { onProgress: (e) => seen.push(`${e.message} ${e.done}/${e.total}`) });
    expect(r).toEqual({ counted: 3 });
    expect(seen).toEqual(['step 1 1/3', 'step 2 2/3', 'step 3 3/3']);
  });

  it("rebuilds the agent's typed error", async () => {
    const other = defineAction({ ...countAction, name: 'nope' });
    await expect(callAgent(socket, other, { to: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_ACTION' });
  });
});
