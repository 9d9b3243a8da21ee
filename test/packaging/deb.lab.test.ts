import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../shared/version.js';
import { installDeb, NODE_NAMES, nodeExec } from '../lab/index.js';
import { nodeHttp, waitFor } from '../lab/http.js';
import { debPath } from '../lab/paths.js';

const isActive = async (node: 'a' | 'b') =>
  (await nodeExec(node, ['systemctl', 'is-active', 'pgduplex-agent'], { reject: false })).stdout.trim();
const exists = async (node: 'a' | 'b', path: string) =>
  (await nodeExec(node, ['test', '-e', path], { reject: false })).exitCode === 0;

describe('the .deb', () => {
  it('passes lintian without errors', async () => {
    const r = await execa('lintian', ['--no-tag-display-limit', debPath()], { reject: false });
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('E:'));
    expect(errors).toEqual([]);
  });

  it.each(NODE_NAMES)(
    'is installed on node %s with the agent active and the packaged CLI at the right version',
    async (node) => {
      expect(await isActive(node)).toBe('active');
      expect((await nodeExec(node, ['systemctl', 'is-enabled', 'pgduplex-agent'])).stdout.trim()).toBe('enabled');
      expect((await nodeExec(node, ['pgduplex', '--version'])).stdout.trim()).toBe(VERSION);
      expect((await nodeExec(node, ['dpkg-query', '-W', '-f', '${Version}', 'pgduplex'])).stdout).toBe(VERSION);
      expect(await exists(node, '/usr/share/pgduplex/prometheus/pgduplex-alerts.yml')).toBe(true);
      expect(await exists(node, '/usr/share/pgduplex/grafana/pgduplex-dashboard.json')).toBe(true);
    },
  );

  it('dpkg -r stops and removes the service but keeps the config; dpkg -P removes config and state; reinstall works', async () => {
    const node = 'b';
    await nodeExec(node, ['dpkg', '-r', 'pgduplex']);
    expect(await isActive(node)).not.toBe('active');
    expect((await nodeExec(node, ['pgrep', '-f', 'pgduplex-agent'], { reject: false })).exitCode).toBe(1);
    expect(await exists(node, '/usr/bin/pgduplex')).toBe(false);
    expect(await exists(node, '/etc/pgduplex/agent.json')).toBe(true);

    await nodeExec(node, ['dpkg', '-P', 'pgduplex']);
    expect(await exists(node, '/etc/pgduplex')).toBe(false);
    expect(await exists(node, '/var/lib/pgduplex')).toBe(false);

    await installDeb(node, debPath());
    await waitFor(
      'reinstalled agent live',
      () => nodeHttp(node, 'http://127.0.0.1:7740/health/ready'),
      (r) => r.status === 200,
    );
    expect(await isActive(node)).toBe('active');
    expect(await exists(node, '/etc/pgduplex/agent.json')).toBe(true);
  });
});
