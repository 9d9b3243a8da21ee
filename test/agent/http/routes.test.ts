import type { IncomingMessage, Server } from 'node:http';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthMonitor } from '../../../agent/health/monitor.js';
import { monitoringAccess } from '../../../agent/http/monitoring-access.js';
import { healthRoutes, publicHealthRoutes } from '../../../agent/http/routes.js';
import { createHttpServer } from '../../../agent/http/server.js';
import { createLogger } from '../../../shared/log.js';
import type { ActionOutcomes } from '../../../agent/actions/outcomes.js';

// A monitor whose every answer is full of the detail an outsider must not see.
const SECRET_ISH = 'PostgreSQL 17.6 at /var/lib/postgresql/17/main on node-b, 123 bytes behind';
let ready = true;
const monitor = {
  live: () => ({ ok: true }),
  ready: async () => (ready ? { ok: true } : { ok: false, reason: SECRET_ISH }),
  full: async () => ({ agent: { version: '9.9.9', node: 'node-b' }, note: SECRET_ISH }),
  metrics: async () => `pgduplex_agent_info{version="9.9.9",node="node-b"} 1\n`,
} as unknown as HealthMonitor;
const outcomes = { list: () => [] } as unknown as ActionOutcomes;

let server: Server | undefined;
afterEach(async () => {
  ready = true;
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

/** A TCP server that gives full detail to `allowed` sources only, as the agent's listener does. */
async function serve(allowed: string[]): Promise<number> {
  const access = monitoringAccess(allowed);
  const full = healthRoutes(monitor, outcomes);
  const limited = publicHealthRoutes(monitor);
  server = createHttpServer(
    (req: IncomingMessage) => (access(req.socket.remoteAddress) ? full : limited),
    { maxBodyBytes: 64, maxHeaderBytes: 2048, requestTimeoutMs: 2000 },
    createLogger('t', 'silent'),
  );
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const fetchText = (port: number, path: string) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });

describe('health routes by source', () => {
  it('gives a client that is not a monitoring host a bare verdict and refuses the detail', async () => {
    const port = await serve(['10.0.0.5/32']);
    expect(await fetchText(port, '/health')).toEqual({ status: 200, text: '{"status":"ok"}\n' });
    expect(await fetchText(port, '/health/live')).toEqual({ status: 200, text: '{"ok":true}\n' });
    expect(await fetchText(port, '/health/ready')).toEqual({ status: 200, text: '{"ok":true}\n' });
    const metrics = await fetchText(port, '/metrics');
    expect(metrics.status).toBe(403);
    expect(JSON.parse(metrics.text).error.code).toBe('REFUSED');
    expect((await fetchText(port, '/health/ready?max_lag_bytes=5')).status).toBe(403);
    expect((await fetchText(port, '/health/ready?max_lag_bytes=x')).status).toBe(400);
    ready = false;
    expect(await fetchText(port, '/health')).toEqual({ status: 503, text: '{"status":"unavailable"}\n' });
    expect(await fetchText(port, '/health/ready')).toEqual({ status: 503, text: '{"ok":false}\n' });
    for (const path of ['/health', '/health/ready', '/metrics', '/health/live'])
      for (const word of ['9.9.9', 'node-b', '/var/lib', 'behind'])
        expect((await fetchText(port, path)).text, path).not.toContain(word);
  });

  it('gives a monitoring host everything, /metrics included', async () => {
    const port = await serve(['127.0.0.0/8']);
    expect(JSON.parse((await fetchText(port, '/health')).text).agent.node).toBe('node-b');
    expect(await fetchText(port, '/metrics')).toEqual({
      status: 200,
      text: 'pgduplex_agent_info{version="9.9.9",node="node-b"} 1\n',
    });
    ready = false;
    expect(JSON.parse((await fetchText(port, '/health/ready')).text).reason).toBe(SECRET_ISH);
  });
});
