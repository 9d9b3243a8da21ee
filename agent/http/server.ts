import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { PgduplexError, toPgduplexError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { Route, RouteResult } from './routes.js';

/** Limits for the HTTP surface; they come from agent.json's "limits". */
export interface HttpLimits {
  maxBodyBytes: number;
  maxHeaderBytes: number;
  requestTimeoutMs: number;
}

const ALLOWED_METHODS = 'GET, HEAD';
const CLIENT_ERROR_STATUS = new Map([
  ['HPE_HEADER_OVERFLOW', '431 Request Header Fields Too Large'],
  ['ERR_HTTP_REQUEST_TIMEOUT', '408 Request Timeout'],
]);

/**
 * A POST route (only the root-only unix socket has any): receives the parsed JSON body and may emit
 * progress events; the answer is NDJSON, the events first, the result last.
 */
export type PostRoute = (body: unknown, emit: (event: Record<string, unknown>) => void) => Promise<RouteResult>;

/** The GET routes, or which routes a request gets (by its source: the TCP listener's monitoring allowlist). */
export type RouteTable = ReadonlyMap<string, Route> | ((req: IncomingMessage) => ReadonlyMap<string, Route>);

/** Builds the agent's HTTP server: read-only routes, capped bodies, typed JSON errors. */
export function createHttpServer(
  routes: RouteTable,
  limits: HttpLimits,
  log: Logger,
  post: { routes: ReadonlyMap<string, PostRoute>; maxBodyBytes: number } = { routes: new Map(), maxBodyBytes: 0 },
): Server {
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
      keepAliveTimeout: 5000,
    },
    (req, res) => {
      (req.method === 'POST' && post.routes.has(pathOf(req.url) ?? '')
        ? handlePost(post, req, res)
        : handle(typeof routes === 'function' ? routes(req) : routes, limits, req, res)
      ).catch((err: unknown) => {
        log.error({ err: toPgduplexError(err).toJSON(), url: req.url }, 'request failed');
        if (!res.headersSent) send(res, req, 500, new PgduplexError('INTERNAL', 'internal error').toJSON());
      });
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    log.debug({ code: err.code }, 'malformed request');
    const status = CLIENT_ERROR_STATUS.get(err.code ?? '') ?? '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}

async function handle(
  routes: ReadonlyMap<string, Route>,
  limits: HttpLimits,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!(await drain(req, limits.maxBodyBytes))) {
    res.setHeader('Connection', 'close');
    res.once('finish', () => req.socket.destroy());
    return send(res, req, 413, error('PAYLOAD_TOO_LARGE', `request body exceeds ${limits.maxBodyBytes} bytes`));
  }
  const path = pathOf(req.url);
  const route = path === undefined ? undefined : routes.get(path);
  if (route === undefined) {
    return send(res, req, 404, error('NOT_FOUND', `no such path: ${truncate(path ?? req.url ?? '')}`));
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', ALLOWED_METHODS);
    return send(res, req, 405, error('METHOD_NOT_ALLOWED', `${req.method ?? '?'} is not allowed here; use GET`));
  }
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const result = await route(new URLSearchParams(q === -1 ? '' : url.slice(q + 1)));
  send(res, req, result.status, result.body, result.contentType);
}

async function handlePost(
  post: { routes: ReadonlyMap<string, PostRoute>; maxBodyBytes: number },
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const route = post.routes.get(pathOf(req.url) ?? '');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > post.maxBodyBytes) {
      res.setHeader('Connection', 'close');
      return send(res, req, 413, error('PAYLOAD_TOO_LARGE', `request body exceeds ${post.maxBodyBytes} bytes`));
    }
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return send(res, req, 400, { error: new PgduplexError('BAD_PARAMS', 'request body is not JSON').toJSON() });
  }
  if (route === undefined) return send(res, req, 404, error('NOT_FOUND', 'no such path'));
  const line = (value: unknown): void => {
    if (!res.headersSent)
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
    if (!res.writableEnded) res.write(`${JSON.stringify(value)}\n`);
  };
  const result = await route(body, (event) => line({ type: 'progress', ...event }));
  if (result.status !== 200 && !res.headersSent) return send(res, req, result.status, result.body);
  line(result.body);
  res.end();
}

/** Reads and discards a request body; false (and stops reading) once it passes the cap. */
function drain(req: IncomingMessage, cap: number): Promise<boolean> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > cap) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > cap) {
        req.off('data', onData);
        req.pause();
        resolve(false);
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve(seen <= cap));
    req.once('error', () => resolve(false));
    req.once('close', () => resolve(seen <= cap));
  });
}

function send(res: ServerResponse, req: IncomingMessage, status: number, body: unknown, contentType?: string): void {
  const text = contentType === undefined ? `${JSON.stringify(body)}\n` : String(body);
  res.writeHead(status, {
    'Content-Type': contentType ?? 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function error(code: 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'PAYLOAD_TOO_LARGE', message: string): unknown {
  return { error: new PgduplexError(code, message).toJSON() };
}

function pathOf(url: string | undefined): string | undefined {
  if (url === undefined || !url.startsWith('/')) return undefined;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function truncate(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
