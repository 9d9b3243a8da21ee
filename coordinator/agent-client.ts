import { request } from 'node:http';
import { PgduplexError } from '../shared/errors.js';

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
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (res) => {
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
    req.end();
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
