import { request } from 'node:http';
import { lenient } from '../shared/protocol/lenient.js';
import { retry } from '../shared/poll.js';
import type { z } from 'zod';
import { PgduplexError } from '../shared/errors.js';
import type { ActionDescriptor } from '../shared/protocol/actions.js';
import { MAX_CALL_JSON_BYTES } from '../shared/protocol/messages.js';

/** Where the local agent answers; root-only, so reaching it already proves we are root. */
export const DEFAULT_SOCKET = '/run/pgduplex/agent.sock';

/** One HTTP answer from the agent, body parsed as JSON. */
export interface AgentResponse {
  status: number;
  body: unknown;
}

const MAX_RESPONSE_BYTES = MAX_CALL_JSON_BYTES;

/** GETs a path from the local agent over its unix socket. */
export function getFromAgent(socketPath: string, path: string, timeoutMs = 10_000): Promise<AgentResponse> {
  return exchange(socketPath, 'GET', path, undefined, timeoutMs);
}

/** Runs a typed action on the local agent; its error comes back as the same typed error. */
export async function callAgent<P extends z.ZodType, R extends z.ZodType>(
  socketPath: string,
  d: ActionDescriptor<P, R>,
  params: z.input<P>,
  opts: { timeoutMs?: number; onProgress?: (event: { message: string; done?: number; total?: number }) => void } = {},
): Promise<z.output<R>> {
  const res = await exchange(
    socketPath,
    'POST',
    '/v1/rpc',
    JSON.stringify({ action: d.name, params }),
    opts.timeoutMs ?? 60_000,
    (event) => {
      const e = event as { type?: unknown; message?: unknown; done?: unknown; total?: unknown };
      if (e.type === 'progress' && typeof e.message === 'string') {
        opts.onProgress?.({
          message: e.message,
          ...(typeof e.done === 'number' ? { done: e.done } : {}),
          ...(typeof e.total === 'number' ? { total: e.total } : {}),
        });
      }
    },
  );
  const body = res.body as { ok?: unknown; result?: unknown; error?: unknown };
  if (res.status === 200 && body.ok === true) {
    const parsed = lenient(d.result).safeParse(body.result);
    if (parsed.success) return parsed.data;
  }
  if (res.status === 200 && body.ok === false) throw PgduplexError.fromJSON(body.error);
  throw new PgduplexError('AGENT_BAD_RESPONSE', `the agent answered ${d.name} with something unexpected`, {
    hint: 'are the pgduplex CLI and agent the same version? (pgduplex --version, dpkg -s pgduplex)',
  });
}

/** How long to keep knocking when the agent is not listening yet (just installed or restarting). */
const STARTUP_GRACE_MS = 2000;

async function exchange(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  body: string | undefined,
  timeoutMs: number,
  onEvent?: (event: unknown) => void,
): Promise<AgentResponse> {
  return retry(() => exchangeOnce(socketPath, method, path, body, timeoutMs, onEvent), {
    timeoutMs: STARTUP_GRACE_MS,
    intervalMs: 100,
    retriable: (err) => {
      const code = ((err as PgduplexError).cause as NodeJS.ErrnoException | undefined)?.code;
      return code === 'ENOENT' || code === 'ECONNREFUSED';
    },
  });
}

/** One request; an NDJSON answer delivers its lines before the last to `onEvent` as they arrive. */
function exchangeOnce(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  body: string | undefined,
  timeoutMs: number,
  onEvent?: (event: unknown) => void,
): Promise<AgentResponse> {
  return new Promise((resolve, reject) => {
    const headers =
      body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request({ socketPath, path, method, timeout: timeoutMs, headers }, (res) => {
      const ndjson = (res.headers['content-type'] ?? '').startsWith('application/x-ndjson');
      let text = '';
      let size = 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        size += Buffer.byteLength(c);
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          return reject(
            new PgduplexError('AGENT_BAD_RESPONSE', `the agent's answer exceeds ${MAX_RESPONSE_BYTES} bytes`),
          );
        }
        text += c;
        if (!ndjson) return;
        // Progress lines are handed on as they arrive; the result line (no "type") stays for 'end'.
        let nl = text.indexOf('\n');
        while (nl !== -1) {
          const event = parseJson(text.slice(0, nl)) as { type?: unknown } | undefined;
          if (event?.type !== 'progress') break;
          onEvent?.(event);
          text = text.slice(nl + 1);
          nl = text.indexOf('\n');
        }
      });
      // An agent that dies mid-answer (killed, restarted) ends the stream without 'end': never a silent success.
      let ended = false;
      const cut = () =>
        reject(
          new PgduplexError('AGENT_UNREACHABLE', 'the local agent stopped before it answered (killed or restarted?)', {
            hint:
              'check "systemctl status pgduplex-agent" and "journalctl -u pgduplex-agent"; ' +
              'what it was doing may have finished or not: re-run the command, finished steps are found done',
          }),
        );
      res.on('error', () => (ended ? undefined : cut()));
      res.on('close', () => (ended ? undefined : cut()));
      res.on('end', () => {
        ended = true;
        const last = text.trim().split('\n').at(-1) ?? '';
        const parsed = parseJson(last);
        if (parsed === undefined)
          reject(new PgduplexError('AGENT_BAD_RESPONSE', 'the agent answered with something that is not JSON'));
        else resolve({ status: res.statusCode ?? 0, body: parsed });
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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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
  return new PgduplexError('AGENT_UNREACHABLE', `the local pgduplex agent at ${socketPath} ${why}`, {
    hint,
    cause: err,
  });
}
