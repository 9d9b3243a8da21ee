import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenUnix } from '../../agent/http/listen.js';
import { createHttpServer, type PostRoute } from '../../agent/http/server.js';
import { createLogger } from '../../shared/log.js';

/** A stand-in agent socket: the real HTTP server with one /v1/rpc route, on a unix socket in a temp dir. */
export async function startRpcServer(route: PostRoute): Promise<{ socket: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pgdx-sock-'));
  const socket = join(dir, 'agent.sock');
  const server: Server = createHttpServer(
    new Map(),
    { maxBodyBytes: 64, maxHeaderBytes: 8192, requestTimeoutMs: 5000 },
    createLogger('t', 'silent'),
    { routes: new Map([['/v1/rpc', route]]), maxBodyBytes: 4096 },
  );
  await listenUnix(server, socket);
  return {
    socket,
    async close() {
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
