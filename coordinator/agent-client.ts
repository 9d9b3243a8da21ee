import { request } from 'node:http';
import type { z } from 'zod';
import { PgduplexError } from '../shared/errors.js';
import type { ActionDescriptor } from '../shared/protocol/actions.js';

/** Where the local agent answers; root-only, so reaching it already proves we are root. */
export const DEFAULT_SOCKET = '/run/pgduplex/agent.sock';

/** One HTTP answer from the agent, body parsed as JSON. */
export interface AgentResponse {
  status: number;
  body: unknown;
}

const MAX_RESPONSE_BYTES = 1_048_576;

/** GETs a path from the local agent over its unix socket. */
export function getFromAgent(socketPath: string, path: string, timeoutMs = 10_000): Promise<AgentResponse> {
  return exchange(socketPath, 'GET', path, undefined, timeoutMs);
}

/** Runs a typed action on the local agent; its error comes back as the same typed error. */
export async function callAgent<P extends z.ZodType, R extends z.ZodType>(
  socketPath: string,
  d: ActionDescriptor<P, R>,
  params: z.input<P>,
  timeoutMs = 60_000,
): Promise<z.output<R>> {
  const res = await exchange(socketPath, 'POST', '/v1/rpc', JSON.stringify({ action: d.name, params }), timeoutMs);
  const body = res.body as { ok?: unknown; result?: unknown; error?: unknown };
  if (res.status === 200 && body.ok === true) {
    const parsed = d.result.safeParse(body.result);
    if (parsed.success) return parsed.data;
  }
  if (res.status === 200 && body.ok === false) throw PgduplexError.fromJSON(body.error);
  throw new PgduplexError('AGENT_BAD_RESPONSE', `the agent answered ${d.name} with something unexpected`, {
    hint: 'are the pgduplex CLI and agent the same version? (pgduplex --version, dpkg -s pgduplex)',
  });
}

/** How long to keep knocking when the agent is not listening yet (just installed or restarting). */
const STARTUP_GRACE_MS = 2000;

async function exchange(socketPath: string, method: 'GET' | 'POST', path: string, body: string | undefined, timeoutMs: number): Promise<AgentResponse> {
  const deadline = Date.now() + STARTUP_GRACE_MS;
  for (;;) {
    try {
      return await exchangeOnce(socketPath, method, path, body, timeoutMs);
    } catch (err) {
      const code = ((err as PgduplexError).cause as NodeJS.ErrnoException | undefined)?.code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function exchangeOnce(socketPath: string, method: 'GET' | 'POST', path: string, body: string | undefined, timeoutMs: number): Promise<AgentResponse> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request({ socketPath, path, method, timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          reject(new PgduplexError('AGENT_BAD_RESPONSE', `the agent's answer exceeds ${MAX_RESPONSE_BYTES} bytes`));
        } else chunks.push(c);
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          reject(new PgduplexError('AGENT_BAD_RESPONSE', 'the agent answered with something that is not JSON', { cause: err }));
        }
      });
    });
    req.on('timeout', () => {
      req.destroy();
      reject(
        new PgduplexError('AGENT_UNREACHABLE', `the local agent did not answer within ${timeoutMs} ms`, {
          hint: 'check "systemctl status pgduplex-agent" and "journalctl -u pgduplex-agent"',
        }),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(socketPath, err)));
    req.end(body);
  });
}

function unreachable(socketPath: string, err: NodeJS.ErrnoException): PgduplexError {
  const why =
    err.code === 'ENOENT'
      ? 'is not running (no socket)'
      : err.code === 'EACCES'
        ? 'refused: its socket is for root only'
        : err.code === 'ECONNREFUSED'
          ? 'is not running (socket is stale)'
          : `cannot be reached (${err.code ?? err.message})`;
  const hint =
    err.code === 'EACCES'
      ? 'run pgduplex as root (sudo pgduplex ...)'
      : 'start it with "systemctl start pgduplex-agent"; "journalctl -u pgduplex-agent" says why it stopped';
  return new PgduplexError('AGENT_UNREACHABLE', `the local pgduplex agent at ${socketPath} ${why}`, { hint, cause: err });
}
