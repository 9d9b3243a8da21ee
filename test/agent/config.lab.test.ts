import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentUp } from '../lab/agent-rpc.js';
import { nodeExec } from '../lab/index.js';
import { nodeHttp, waitFor } from '../lab/http.js';

const CONFIG = '/etc/pgduplex/agent.json';
let original = '';

async function writeConfig(text: string): Promise<void> {
  await nodeExec('b', ['tee', CONFIG], { input: text });
}

async function restartExpectingFailure(): Promise<string> {
  await nodeExec('b', ['systemctl', 'reset-failed', 'pgduplex-agent'], { reject: false });
  const r = await nodeExec('b', ['systemctl', 'restart', 'pgduplex-agent'], { reject: false });
  await waitFor(
    'unit failed',
    () => nodeExec('b', ['systemctl', 'is-active', 'pgduplex-agent'], { reject: false }),
    (s) => s.stdout.trim() === 'failed',
  );
  expect(r.exitCode).toBe(0); // Type=exec: the start itself succeeds, then the process exits 78.
  const status = await nodeExec('b', ['systemctl', 'status', 'pgduplex-agent', '--no-pager', '-l', '-n', '5'], {
    reject: false,
  });
  expect(status.stdout).toContain('status=78');
  return status.stdout;
}

beforeAll(async () => {
  original = (await nodeExec('b', ['cat', CONFIG])).stdout;
});
afterAll(async () => {
  await writeConfig(original);
  await nodeExec('b', ['systemctl', 'reset-failed', 'pgduplex-agent'], { reject: false });
  await nodeExec('b', ['systemctl', 'restart', 'pgduplex-agent'], { reject: false });
  await agentUp('b'); // the next file's first call must not race the restart
}, 150_000);

describe('a broken agent.json stops the agent with one line that names the problem (lab node b)', () => {
  it.each([
    ['bad JSON', '{ "listen": { "port": 7740, } }', `pgduplex-agent: ${CONFIG}: not valid JSON at line 1, column 29`],
    [
      'an unknown key',
      '{ "listen": { "port": 7740 }, "logLevle": "info" }',
      `pgduplex-agent: ${CONFIG}: unknown key "logLevle"`,
    ],
    [
      'a port out of range',
      '{ "listen": { "port": 77400 } }',
      `pgduplex-agent: ${CONFIG}: "listen.port" must be between 1 and 65535 (got 77400)`,
    ],
  ])('%s', async (_what, text, line) => {
    await writeConfig(text);
    const status = await restartExpectingFailure();
    expect(status).toContain(line);
    const journal = await nodeExec('b', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat', '-n', '20']);
    const hits = journal.stdout.split('\n').filter((l) => l.startsWith(`pgduplex-agent: ${CONFIG}`));
    expect(hits.at(-1)).toContain(line);
    expect(journal.stdout).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });

  it('refuses to start when its key file is readable by others', async () => {
    await writeConfig(original);
    await nodeExec('b', ['chmod', '0644', '/var/lib/pgduplex/identity.json']);
    try {
      const status = await restartExpectingFailure();
      expect(status).toContain(
        'pgduplex-agent: /var/lib/pgduplex/identity.json has mode 0644; it holds keys and must be 0600 (root only)',
      );
    } finally {
      await nodeExec('b', ['chmod', '0600', '/var/lib/pgduplex/identity.json']);
    }
  });

  it('recovers once the file is fixed and the agent restarted', async () => {
    await writeConfig(original);
    await nodeExec('b', ['systemctl', 'restart', 'pgduplex-agent']);
    await waitFor(
      'agent live',
      () => nodeHttp('b', 'http://127.0.0.1:7740/health/live'),
      (r) => r.status === 200,
    );
    expect((await nodeExec('b', ['systemctl', 'is-active', 'pgduplex-agent'])).stdout.trim()).toBe('active');
  });
});
