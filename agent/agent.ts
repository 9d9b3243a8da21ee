import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from '../shared/log.js';
import { VERSION } from '../shared/version.js';
import type { AgentConfig } from './config/schema.js';
import { HealthMonitor } from './health/monitor.js';
import { listenTcp, listenUnix } from './http/listen.js';
import { healthRoutes } from './http/routes.js';
import { createHttpServer } from './http/server.js';

/** A running agent: what shutdown needs to stop. */
export interface RunningAgent {
  tcpAddress: { host: string; port: number };
  stop(): Promise<void>;
}

/** Starts the agent's servers; the process-level concerns (argv, signals, exit codes) live in main.ts. */
export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  const node = config.nodeName ?? hostname();
  const monitor = new HealthMonitor({
    nodeName: node,
    postgresql: config.postgresql,
    cacheMs: config.limits.healthCacheMs,
    probeTimeoutMs: config.limits.psqlTimeoutMs,
  });
  const warmed = monitor.warm();
  const routes = healthRoutes(monitor);
  const tcp = createHttpServer(routes, config.limits, log.child({ listener: 'tcp' }));
  const unix = createHttpServer(routes, config.limits, log.child({ listener: 'unix' }));
  const servers: Server[] = [];
  try {
    await listenTcp(tcp, config.listen.host, config.listen.port);
    servers.push(tcp);
    await listenUnix(unix, config.socket);
    servers.push(unix);
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    monitor.close();
    throw err;
  }
  const address = tcp.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
  log.info({ version: VERSION, node, host: config.listen.host, port, socket: config.socket }, 'agent started');
  void warmed.then((r) => {
    if (r.ok) log.info('PostgreSQL is ready');
    else log.warn({ reason: r.reason }, 'PostgreSQL is not ready');
  });
  return {
    tcpAddress: { host: config.listen.host, port },
    async stop() {
      monitor.close();
      await Promise.all([closeServer(tcp), closeServer(unix)]);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
