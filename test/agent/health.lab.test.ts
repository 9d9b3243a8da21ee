import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { healthReportSchema } from '../../shared/health.js';
import { LAB, labSecret, nodeExec } from '../lab/index.js';
import { nodeHttp, nodeSocketHttp, outsiderHttp, waitFor } from '../lab/http.js';
import { PROMETHEUS_SERIES, queriedMetrics, servedFamilies } from '../packaging/monitoring/monitoring.js';

const AGENT = 'http://127.0.0.1:7740';
// The socket: over TCP, a host not in monitoringHosts gets the verdict without the reason.
const ready = () => nodeSocketHttp('a', '/health/ready');

afterAll(async () => {
  await nodeExec('a', ['systemctl', 'start', 'postgresql@17-main'], { reject: false });
});

describe('health endpoint on a real node (lab node a)', () => {
  it('runs under systemd and reports PostgreSQL 17 reachable with its facts', async () => {
    expect((await nodeExec('a', ['systemctl', 'is-active', 'pgduplex-agent'])).stdout.trim()).toBe('active');
    const r = await waitFor(
      'a ready agent',
      () => nodeSocketHttp('a', '/health'),
      (h) => h.status === 200,
    );
    const report = healthReportSchema.parse(JSON.parse(r.body));
    expect(report.agent.node).toBe('a');
    expect(report.postgresql).toMatchObject({
      ready: true,
      walLevel: expect.stringMatching(/^(replica|logical|minimal)$/),
      dataDirectory: '/var/lib/postgresql/17/main',
      cluster: { version: '17', name: 'main', service: 'postgresql@17-main', port: 5432 },
    });
    expect(report.postgresql.serverVersion).toMatch(/^17\./);
    expect(report.system.os.distro).toContain('Debian');
    expect(report.system.os.release).toMatch(/^13/);
    expect(report.system.disk.path).toBe('/var/lib/postgresql/17/main');
    expect(report.system.disk.freeBytes).toBeGreaterThan(0);
    expect(report.system.memory.totalBytes).toBeGreaterThan(0);
  });

  it('prints the same through the packaged CLI, for people and for scripts', async () => {
    const human = await nodeExec('a', ['pgduplex', 'health']);
    expect(human.stdout).toMatch(/postgresql\s+ready\s+17\/main\s+PostgreSQL 17\./);
    expect(human.stdout).toMatch(/^replication not set up on this node$/m);
    const json = await nodeExec('a', ['pgduplex', 'health', '--json']);
    expect(healthReportSchema.parse(JSON.parse(json.stdout)).postgresql.ready).toBe(true);
  });

  it('says not ready with the reason when PostgreSQL stops, while staying live', async () => {
    expect((await ready()).status).toBe(200);
    await nodeExec('a', ['systemctl', 'stop', 'postgresql@17-main']);
    try {
      const down = await waitFor('ready=503', ready, (r) => r.status === 503);
      expect(JSON.parse(down.body)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('not accepting connections'),
      });
      expect((await nodeHttp('a', `${AGENT}/health/live`)).status).toBe(200);
      const cli = await nodeExec('a', ['pgduplex', 'health'], { reject: false });
      expect(cli.exitCode).toBe(1);
      expect(cli.stdout).toContain('NOT READY');
      expect(cli.stdout).toContain('systemctl start postgresql@17-main');
    } finally {
      await nodeExec('a', ['systemctl', 'start', 'postgresql@17-main']);
    }
    await waitFor('ready=200', ready, (r) => r.status === 200);
  });

  // Regression: the stale-while-revalidate cache served the probe of a second ago, so a checker polling
  // every N seconds always saw the state of N seconds before (limits.healthCacheMs is 1 s by default).
  it('never answers ready from a probe older than healthCacheMs, whenever the last probe ran', async () => {
    for (const idleMs of [0, 3000]) {
      await waitFor('ready=200', ready, (r) => r.status === 200);
      await new Promise((r) => setTimeout(r, idleMs));
      await nodeExec('a', ['systemctl', 'stop', 'postgresql@17-main']);
      try {
        await new Promise((r) => setTimeout(r, 1500));
        const first = await ready();
        expect(first.status, `idle ${idleMs} ms before the stop: ${first.body}`).toBe(503);
        const report = healthReportSchema.parse(JSON.parse((await nodeSocketHttp('a', '/health')).body));
        expect(report.postgresql.ageSeconds).toBeGreaterThanOrEqual(0);
      } finally {
        await nodeExec('a', ['systemctl', 'start', 'postgresql@17-main']);
      }
    }
    await waitFor('ready=200', ready, (r) => r.status === 200);
  });

  // The shipped alerting rules and dashboard are checked against renderMetrics in unit tests; this holds them to
  // what the packaged agent really serves.
  it('serves /metrics that pass promtool check metrics, with every family the shipped rules and dashboard query', async () => {
    const r = await nodeSocketHttp('a', '/metrics');
    expect(r.status).toBe(200);
    const check = await execa('promtool', ['check', 'metrics'], { input: r.body, reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    const real = servedFamilies(r.body);
    const missing = queriedMetrics().filter((q) => !real.has(q.name) && !PROMETHEUS_SERIES.has(q.name));
    expect(missing.map((q) => q.name)).toEqual([]);
  });

  it('gives TCP clients that are not monitoring hosts (here: loopback, any local user) only the verdict', async () => {
    const health = await nodeHttp('a', `${AGENT}/health`);
    expect([health.status, JSON.parse(health.body)]).toEqual([200, { status: 'ok' }]);
    expect((await nodeHttp('a', `${AGENT}/metrics`)).status).toBe(403);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    expect((await nodeHttp('a', `${AGENT}/no-such-path`)).status).toBe(404);
    const post = await nodeHttp('a', `${AGENT}/health`, ['-X', 'POST', '--data', '{}']);
    expect(post.status).toBe(405);
    expect(JSON.parse(post.body).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('is unreachable from the outsider: the node drops everything not opened', async () => {
    const r = await outsiderHttp(`http://${LAB.nodes.a.ipv4}:7740/health/live`, 3);
    expect(r.status).toBe(0);
    expect(r.curlExit).toBe(28);
    const v6 = await outsiderHttp(`http://[${LAB.nodes.a.ipv6}]:7740/health/live`, 3);
    expect(v6.curlExit).toBe(28);
  });

  it('puts no secret in health output or in the journal', async () => {
    const secret = labSecret();
    const body = (await nodeSocketHttp('a', '/health')).body;
    const journal = (await nodeExec('a', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat'])).stdout;
    expect(body).not.toContain(secret);
    expect(journal).not.toContain(secret);
    expect(journal).toContain('"msg":"agent started"');
  });

  it('keeps its socket and state dir root-only', async () => {
    const stat = await nodeExec('a', [
      'stat',
      '-c',
      '%a %U %F',
      '/run/pgduplex/agent.sock',
      '/run/pgduplex',
      '/var/lib/pgduplex',
    ]);
    expect(stat.stdout.trim().split('\n')).toEqual(['600 root socket', '700 root directory', '700 root directory']);
  });

  it('stops cleanly on SIGTERM and starts again', async () => {
    await nodeExec('a', ['systemctl', 'stop', 'pgduplex-agent']);
    const show = await nodeExec('a', [
      'systemctl',
      'show',
      'pgduplex-agent',
      '-p',
      'Result',
      '-p',
      'ExecMainStatus',
      '-p',
      'ExecMainCode',
    ]);
    expect(show.stdout).toContain('Result=success');
    expect(show.stdout).toContain('ExecMainStatus=0');
    const journal = (await nodeExec('a', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat', '-n', '5']))
      .stdout;
    expect(journal).toContain('"signal":"SIGTERM"');
    expect(journal).not.toContain('shutdown deadline passed');
    await nodeExec('a', ['systemctl', 'start', 'pgduplex-agent']);
    await waitFor('agent back', ready, (r) => r.status === 200);
  });
});
