import { Socket } from 'node:net';
import { pgReachAction as reachAction } from '../../shared/protocol/postgres.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Can this node open a TCP connection to the peer's PostgreSQL? Asked before a subscription depends on it. */
export const pgReachHandler = (_s: AgentServices) =>
  defineHandler({
    descriptor: reachAction,
    run: ({ host, port, timeoutMs }) =>
      new Promise((resolve) => {
        const started = performance.now();
        const socket = new Socket();
        const done = (error?: string) => {
          socket.destroy();
          resolve({
            reachable: error === undefined,
            ms: Math.round(performance.now() - started),
            ...(error ? { error } : {}),
          });
        };
        socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms (a firewall dropping packets?)`));
        socket.once('error', (err: NodeJS.ErrnoException) =>
          done(
            err.code === 'ECONNREFUSED'
              ? 'connection refused (PostgreSQL not listening on that address?)'
              : (err.code ?? err.message),
          ),
        );
        socket.connect({ host, port }, () => done());
      }),
  });
