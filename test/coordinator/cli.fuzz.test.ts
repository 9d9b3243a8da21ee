import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenUnix } from '../../agent/http/listen.js';
import { createHttpServer } from '../../agent/http/server.js';
import { EXIT, runCli } from '../../coordinator/cli.js';
import { fingerprintOf } from '../../shared/crypto/fingerprint.js';
import { formatToken } from '../../shared/crypto/token.js';
import { PgduplexError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, mutatedText } from '../fuzz/mutate.js';

// The CLI parses its arguments in-process against a stub agent that refuses every action with a
// typed error, so every command line either stops at parsing or reaches the agent, and nothing runs.
const STUB = 'stub agent: nothing runs here';
const HEALTH_REFUSED = 'the agent answered /health with status 503 and an unexpected body';
let dir: string;
let socket: string;
let server: Server;
let calls = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-cli-fuzz-'));
  socket = join(dir, 'agent.sock');
  const refuse = () => {
    calls += 1;
    return Promise.resolve({ status: 200, body: { ok: false, error: new PgduplexError('NOT_PAIRED', STUB).toJSON() } });
  };
  const unready = () => {
    calls += 1;
    return { status: 503, body: {} };
  };
  server = createHttpServer(
    new Map([['/health', unready]]),
    { maxBodyBytes: 0, maxHeaderBytes: 8192, requestTimeoutMs: 5000 },
    createLogger('t', 'silent'),
    { routes: new Map([['/v1/rpc', refuse]]), maxBodyBytes: 65_536 },
  );
  await listenUnix(server, socket);
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** Runs `pgduplex ...args` with the stub's socket, `stdin` as its input, and its output captured. */
async function run(args: string[], stdin: string): Promise<{ code: number; out: string; err: string; calls: number }> {
  let out = '';
  let err = '';
  const before = calls;
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  const realStdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(stdin)]), configurable: true });
  try {
    const code = await runCli(['node', 'pgduplex', '--socket', socket, ...args]);
    return { code, out, err, calls: calls - before };
  } finally {
    Object.defineProperty(process, 'stdin', realStdin);
    o.mockRestore();
    e.mockRestore();
  }
}

const token = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((secret) => formatToken({ fingerprint: fingerprintOf(new Uint8Array(32)), secret }));
const value = fc.oneof(
  fc.constantFrom(
    '10.0.0.2',
    'fd00::2',
    '10.0.0.2/24',
    'example.org',
    '-',
    '',
    '0',
    '7740',
    '65536',
    'local',
    'peer',
    'fusionpbx',
    'all',
    "a'b",
    '--',
  ),
  token,
  fc.string({ maxLength: 12 }),
);
const command = fc.constantFrom(
  'health',
  'whoami',
  'pair',
  'peers',
  'unpair',
  'setup',
  'verify',
  'help',
  'status',
  'teardown',
);
const option = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '--json',
      '--accept',
      '--no-wait',
      '--port',
      '--database',
      '--source',
      '--dry-run',
      '--yes',
      '--replace-peer-data',
      '--exclude-tables-without-key',
      '--port=0',
      '--source=x',
      '--',
      '-x',
    ),
    weight: 10,
  },
  { arbitrary: fc.constantFrom('--help', '-h', '--version', '-V'), weight: 1 },
);
const word = fc.oneof({ arbitrary: option, weight: 1 }, { arbitrary: value, weight: 1 });
const json = fc.constantFrom([], ['--json']);
const address = fc.constantFrom('10.0.0.2', 'fd00::2');
/** Command lines an operator would type, each one valid. */
const valid: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(fc.constantFrom('health', 'whoami', 'peers', 'unpair'), json).map(([c, j]) => [c, ...j]),
  fc.tuple(address, fc.constantFrom([], ['--no-wait']), json).map(([a, w, j]) => ['pair', '--accept', a, ...w, ...j]),
  fc
    .tuple(address, fc.oneof(token, fc.constant('-')), fc.constantFrom([], ['--port', '7740']), json)
    .map(([a, t, p, j]) => ['pair', a, t, ...p, ...j]),
  fc
    .tuple(
      fc.subarray(['--dry-run', '--yes', '--replace-peer-data', '--exclude-tables-without-key', '--json']),
      fc.constantFrom([], ['--database', 'fusionpbx']),
      fc.constantFrom([], ['--source', 'peer']),
    )
    .map(([flags, d, src]) => ['setup', ...flags, ...d, ...src]),
  fc.tuple(fc.constantFrom([], ['--database', 'fusionpbx']), json).map(([d, j]) => ['verify', ...d, ...j]),
);
/** A valid line with one word replaced, inserted or dropped, or damaged in place. */
const damaged = fc
  .tuple(valid, fc.nat(), fc.constantFrom('replace', 'insert', 'drop', 'damage'), word, mutatedText(word))
  .map(([line, i, how, w, bad]) => {
    const at = i % line.length;
    const out = [...line];
    if (how === 'replace') out[at] = w;
    if (how === 'insert') out.splice(at, 0, w);
    if (how === 'drop') out.splice(at, 1);
    if (how === 'damage') out[at] = bad;
    return out;
  });
/** Words in any order, mostly after a known command. */
const assembled = fc
  .tuple(
    fc.oneof(
      { arbitrary: command, weight: 8 },
      { arbitrary: mutatedText(command), weight: 1 },
      { arbitrary: word, weight: 1 },
    ),
    fc.array(fc.oneof({ arbitrary: word, weight: 5 }, { arbitrary: mutatedText(word), weight: 1 }), { maxLength: 5 }),
  )
  .map(([first, rest]) => [first, ...rest]);
const argv = fc.oneof(valid, damaged, assembled).map((args) => args.filter((a) => !a.startsWith('--socket')));
const stdin = fc.oneof(token, mutatedText(token), fc.constantFrom('', '\n'));

describe('pgduplex command line under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('ends every command line with exit 0, 1 or 2 and one clear message; usage errors reach no agent', async () => {
    await fc.assert(
      fc.asyncProperty(argv, stdin, async (args, input) => {
        const r = await run(args, input);
        expect([EXIT.ok, EXIT.failed, EXIT.usage]).toContain(r.code);
        expect(r.err).not.toMatch(/\n\s+at /);
        if (r.code === EXIT.ok) expect(r.calls).toBe(0);
        if (r.code === EXIT.usage) {
          expect(r.calls).toBe(0);
          expect(r.err.trim()).not.toBe('');
        }
        if (r.code === EXIT.failed) {
          expect(r.calls).toBeGreaterThan(0);
          expect([`pgduplex: ${STUB}`, `pgduplex: ${HEALTH_REFUSED}`]).toContain(r.err.split('\n')[0]);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
