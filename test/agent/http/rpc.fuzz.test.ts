import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentServices } from '../../../agent/actions/context.js';
import { buildRegistry } from '../../../agent/actions/index.js';
import { ActionRegistry, type ActionHandler } from '../../../agent/actions/registry.js';
import { listenUnix } from '../../../agent/http/listen.js';
import { rpcRoute } from '../../../agent/http/rpc.js';
import { createHttpServer } from '../../../agent/http/server.js';
import { isErrorCode, PgduplexError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/log.js';
import { bytesInput, FUZZ_RUNS, FUZZ_TIMEOUT_MS, textInput } from '../../fuzz/mutate.js';

// The request body on the root-only socket, as the agent parses it: the real HTTP server, the real
// rpc route and the real registry's action names and params schemas; only the handlers' work is
// replaced, by one that says it was reached (so nothing on this machine is touched).
const REACHED = 'reached the handler';
let names: string[] = [];
let dir: string;
let socket: string;
let server: Server;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  const spy = vi.spyOn(ActionRegistry.prototype, 'register');
  buildRegistry({ limits: { toolTimeoutMs: 1000 }, postgresql: undefined } as unknown as AgentServices);
  const real = spy.mock.calls.flat() as ActionHandler[];
  spy.mockRestore();
  const stubbed = real.map((h) => ({ ...h, run: () => Promise.reject(new PgduplexError('TIMEOUT', REACHED)) }));
  names = stubbed.filter((h) => h.descriptor.callers.includes('local')).map((h) => h.descriptor.name);
  const registry = new ActionRegistry().register(...stubbed);
  dir = await mkdtemp(join(tmpdir(), 'pgdx-rpc-fuzz-'));
  socket = join(dir, 'agent.sock');
  const log = createLogger('t', 'silent');
  server = createHttpServer(new Map(), { maxBodyBytes: 0, maxHeaderBytes: 8192, requestTimeoutMs: 5000 }, log, {
    routes: new Map([['/v1/rpc', rpcRoute(registry.dispatch, log)]]),
    maxBodyBytes: 65_536,
  });
  await listenUnix(server, socket);
});
afterAll(async () => {
  agent.destroy();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

function post(body: Uint8Array): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        agent,
        method: 'POST',
        path: '/v1/rpc',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const awkward = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constant({ toString: 1, valueOf: 1 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', ''),
);
const request_ = () =>
  fc.oneof(
    fc.record(
      {
        action: fc.constantFrom(...names),
        params: fc.oneof(
          fc.constant({}),
          fc.jsonValue({ maxDepth: 2 }),
          fc.dictionary(fc.constantFrom('id', 'peer', 'ports', 'database', 'action', 'params', '__proto__'), awkward, {
            maxKeys: 3,
          }),
        ),
      },
      { requiredKeys: ['action'] },
    ),
    fc.record({ action: awkward, params: awkward }, { requiredKeys: [] }),
  );

describe('the rpc request on the local socket under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('answers any body with a typed error or a reached handler, never a 500 or a foreign error', async () => {
    let reached = 0;
    const valid = request_().map((r) => JSON.stringify(r));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(valid.map(utf8), textInput(valid).map(utf8), bytesInput(valid.map(utf8), 512)),
        async (body) => {
          const r = await post(body);
          if (r.status === 400) {
            expect(JSON.parse(r.text).error.code).toBe('BAD_PARAMS');
            return;
          }
          expect(r.status).toBe(200);
          const answer = JSON.parse(r.text.trim().split('\n').at(-1) ?? '') as {
            ok: boolean;
            error: { code: string; message: string };
          };
          expect(answer.ok).toBe(false);
          expect(isErrorCode(answer.error.code)).toBe(true);
          expect(['UNKNOWN_ACTION', 'BAD_PARAMS', 'TIMEOUT']).toContain(answer.error.code);
          if (answer.error.code === 'TIMEOUT') {
            expect(answer.error.message).toBe(REACHED);
            reached += 1;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    expect(reached).toBeGreaterThan(FUZZ_RUNS / 100);
  });
});
