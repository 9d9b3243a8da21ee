import { isIP, Socket } from 'node:net';
import { z } from 'zod';
import { defineAction } from '../../shared/protocol/actions.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

const reachAction = defineAction({
  name: 'pg-reach',
  mutates: false,
  params: z.strictObject({ host: z.string().refine((h) => isIP(h) !== 0, 'must be an IP address'), port: z.number().int().min(1).max(65535), timeoutMs: z.number().int().min(100).max(60_000).default(3000) }),
  result: z.strictObject({ reachable: z.boolean(), ms: z.number(), error: z.string().optional() }),
});

/** Can this node open a TCP connection to the peer's PostgreSQL? Asked before a subscription depends on it. */
export const pgReachHandler = (_s: AgentServices) =>
  defineHandler({
    descriptor: reachAction,
    callers: ['local', 'peer'],
    run: ({ host, port, timeoutMs }) =>
      new Promise((resolve) => {
        const started = performance.now();
        const socket = new Socket();
        const done = (error?: string) => {
          socket.destroy();
          resolve({ reachable: error === undefined, ms: Math.round(performance.now() - started), ...(error ? { error } : {}) });
        };
        socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms (a firewall dropping packets?)`));
        socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'connection refused (PostgreSQL not listening on that address?)' : (err.code ?? err.message)));
        socket.connect({ host, port }, () => done());
      }),
  });
