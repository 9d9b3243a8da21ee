import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeDeep, safeLine } from '../../../coordinator/render/safe-text.js';
import { PgduplexError } from '../../../shared/errors.js';
import { startRpcServer } from '../unix-rpc-server.js';

// What a compromised peer would put in its node name or an error: clear the screen, ring, set the window
// title (OSC ... BEL), recolour (CSI), a one-character C1 CSI, and a forged line of output.
const HOSTILE =
  'b\u001b[2J\u0007\u001b]0;owned\u0007\u001b[31mred\u009b1mX\r\nok       b      all good\u0085\u202eevil';
// Every control a terminal acts on, C0 (but tab), DEL, C1, line separators and bidi controls.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('safeLine', () => {
  it('shows every control character as an escape and keeps the rest of the text', () => {
    expect(safeLine(HOSTILE)).toBe(
      'b\\x1b[2J\\x07\\x1b]0;owned\\x07\\x1b[31mred\\x9b1mX\\x0d\\x0aok       b      all good\\x85\\u202eevil',
    );
    expect(safeLine('a\tb')).toBe('a b');
    expect(safeLine('plain ASCII, ünïcödé, emoji 🐘')).toBe('plain ASCII, ünïcödé, emoji 🐘');
    for (let c = 0; c < 0x2070; c++) {
      const out = safeLine(String.fromCharCode(c));
      expect(CONTROL.test(out), `U+${c.toString(16)}`).toBe(false);
    }
  });

  it('cleans every string of an answer for a renderer and leaves the answer itself alone', () => {
    const answer = { node: HOSTILE, n: 3, ok: true, none: null, list: [{ error: '\u001b[H' }] };
    expect(safeDeep(answer)).toEqual({
      node: safeLine(HOSTILE),
      n: 3,
      ok: true,
      none: null,
      list: [{ error: '\\x1b[H' }],
    });
    expect(answer.node).toBe(HOSTILE);
  });
});

describe('the CLI shows agent-supplied text without letting the terminal act on it', () => {
  let agent: Awaited<ReturnType<typeof startRpcServer>>;
  beforeAll(async () => {
    agent = await startRpcServer(async (body) => {
      const { action } = body as { action: string };
      if (action === 'peers.list') {
        const peer = { node: HOSTILE, address: '10.0.0.2', port: 7740, fingerprint: 'AAAA', pairedAt: 'now' };
        return { status: 200, body: { ok: true, result: [{ ...peer, reachable: false, error: HOSTILE }] } };
      }
      return {
        status: 200,
        body: { ok: false, error: new PgduplexError('REFUSED', HOSTILE, { hint: HOSTILE }).toJSON() },
      };
    });
  });
  afterAll(() => agent.close());

  const cli = (args: string[]) =>
    execa('npx', ['tsx', 'coordinator/bin.ts', '--socket', agent.socket, ...args], { reject: false, stdin: 'ignore' });

  it('peers: the peer-chosen name and error are one line of visible escapes', async () => {
    const r = await cli(['peers']);
    expect(r.exitCode).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(safeLine(HOSTILE));
    expect(r.stdout).not.toMatch(CONTROL);
  });

  it('an agent error and its hint reach stderr escaped, one line each', async () => {
    const r = await cli(['whoami']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`pgduplex: ${safeLine(HOSTILE)}\n  ${safeLine(HOSTILE)}`);
    expect(r.stderr.replace(/\n/g, '')).not.toMatch(CONTROL);
  });

  it('--json stays the exact JSON of the answer', async () => {
    const r = await cli(['peers', '--json']);
    expect(JSON.parse(r.stdout)[0].node).toBe(HOSTILE);
    // JSON escapes C0 itself; C1 (U+009B), separators and bidi controls are written as \u escapes too.
    expect(r.stdout.replace(/\n/g, '')).not.toMatch(CONTROL);
  });
});
