import type { Server } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenTcp } from '../../../agent/http/listen.js';
import type { RouteResult } from '../../../agent/http/routes.js';
import { createHttpServer } from '../../../agent/http/server.js';
import { createLogger } from '../../../shared/log.js';

let server: Server;
let port: number;
const routes = new Map<string, () => RouteResult>([['/health/live', () => ({ status: 200, body: { ok: true } })]]);

beforeAll(async () => {
  server = createHttpServer(
    routes,
    { maxBodyBytes: 64, maxHeaderBytes: 2048, requestTimeoutMs: 2000 },
    createLogger('t', 'silent'),
  );
  await listenTcp(server, '127.0.0.1', 0);
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    const sized =
      body === undefined || headers['transfer-encoding']
        ? headers
        : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = request({ host: '127.0.0.1', port, method, path, headers: sized }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('agent HTTP surface', () => {
  it('answers a known route with JSON and no caching', async () => {
    const r = await call('GET', '/health/live?verbose=1');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ ok: true });
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['content-type']).toContain('application/json');
  });

  it('answers HEAD without a body', async () => {
    const r = await call('HEAD', '/health/live');
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });

  it('refuses other methods with 405 and an Allow header', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await call(m, '/health/live', '{}');
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
      expect(JSON.parse(r.text).error.code).toBe('METHOD_NOT_ALLOWED');
    }
  });

  it('gives 404 for unknown paths, prototype names included', async () => {
    for (const p of ['/nope', '/__proto__', '/constructor', '/health/../etc/passwd', '/toString']) {
      const r = await call('GET', p);
      expect(r.status, p).toBe(404);
      expect(JSON.parse(r.text).error.code).toBe('NOT_FOUND');
    }
  });

  it('caps bodies, declared or streamed', async () => {
    expect((await call('GET', '/health/live', 'x'.repeat(65))).status).toBe(413);
    expect((await call('POST', '/nope', 'x'.repeat(10_000))).status).toBe(413);
    const chunked = await call('GET', '/health/live', 'y'.repeat(1000), { 'transfer-encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    expect((await call('GET', '/health/live', 'x'.repeat(64))).status).toBe(200);
  });

  it('answers garbage on the wire with 400 and closes', async () => {
    const { connect } = await import('node:net');
    const reply = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.end('\x16\x03\x01 not http\r\n\r\n'));
      let text = '';
      s.on('data', (c) => (text += c.toString()));
      s.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1.1 400 Bad Request/);
  });

  it('rejects oversized headers', async () => {
    const r = await call('GET', '/health/live', undefined, { 'x-big': 'z'.repeat(4096) });
    expect(r.status).toBe(431);
  });
});
