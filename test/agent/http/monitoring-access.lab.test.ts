import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthReportSchema } from '../../../shared/health.js';
import { agentOk, agentRpc, agentUp } from '../../lab/agent-rpc.js';
import { nodeHttp, nodeSocketHttp, outsiderHttp, waitFor } from '../../lab/http.js';
import { LAB, nodeExec } from '../../lab/index.js';

// Who sees what of b's /health and /metrics: the outsider (10.231.7.99, reaching b over IPv4 on the agent's
// `::` socket, i.e. as ::ffff:10.231.7.99) before and after it is one of agent.json's monitoringHosts.
const CONFIG = '/etc/pgduplex/agent.json';
const B4 = `http://${LAB.nodes.b.ipv4}:7740`;
const B6 = `http://[${LAB.nodes.b.ipv6}]:7740`;
const X4 = `${LAB.outsider.ipv4}/32`;
const NET6 = LAB.prefix6;
const DETAIL = ['version', '/var/lib', 'postgresql@', 'freeBytes', 'Debian', 'lag'];
let original = '';
let testRule: string | undefined;

const rules = async () =>
  `${(await nodeExec('b', ['iptables-save', '-t', 'filter'])).stdout}` +
  `${(await nodeExec('b', ['ip6tables-save', '-t', 'filter'])).stdout}`;
const monitoringRule = (source: string) =>
  new RegExp(`-A PGDUPLEX -s ${source.replace(/[.]/g, '\\.')} -p tcp -m tcp --dport 7740 .*"pgduplex monitoring"`);
const pendingMonitoring = async () =>
  (await agentOk<Array<{ action: string; changes: string[] }>>('b', 'journal.list', { pending: true })).filter(
    (e) => e.action === 'monitoring-firewall',
  );

async function restartWith(config: object): Promise<void> {
  await nodeExec('b', ['tee', CONFIG], { input: `${JSON.stringify(config, null, 2)}\n` });
  await nodeExec('b', ['systemctl', 'restart', 'pgduplex-agent']);
  await agentUp('b');
}

beforeAll(async () => {
  await agentUp('b');
  original = (await nodeExec('b', ['cat', CONFIG])).stdout;
});
afterAll(async () => {
  if (testRule !== undefined) await agentRpc('b', 'journal.undo', { id: testRule });
  await nodeExec('b', ['tee', CONFIG], { input: original });
  await nodeExec('b', ['systemctl', 'restart', 'pgduplex-agent'], { reject: false });
  await agentUp('b');
}, 150_000);

describe('/health and /metrics over TCP: a verdict for anyone, the detail for monitoring hosts (lab node b)', () => {
  it('gives a host that is not a monitoring host only live/ready, even with the port open to it', async () => {
    const opened = await agentOk<{ journalId?: string }>('b', 'firewall.apply', {
      peer: LAB.outsider.ipv4,
      ports: [{ port: 7740, purpose: 'health-test' }],
    });
    testRule = opened.journalId;
    const health = await waitFor(
      'b answers the outsider',
      () => outsiderHttp(`${B4}/health`),
      (r) => r.status > 0,
    );
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    expect(JSON.parse((await outsiderHttp(`${B4}/health/live`)).body)).toEqual({ ok: true });
    expect(JSON.parse((await outsiderHttp(`${B4}/health/ready`)).body)).toEqual({ ok: true });
    const lag = await outsiderHttp(`${B4}/health/ready?max_lag_bytes=1`);
    expect(lag.status).toBe(403);
    const metrics = await outsiderHttp(`${B4}/metrics`);
    expect(metrics.status).toBe(403);
    expect(JSON.parse(metrics.body).error.code).toBe('REFUSED');
    expect(metrics.body).not.toContain('pgduplex_');
    // Loopback TCP is any local user, not root: the same verdict only.
    expect(JSON.parse((await nodeHttp('b', 'http://127.0.0.1:7740/health')).body)).toEqual({ status: 'ok' });
    for (const r of [health, metrics]) for (const word of DETAIL) expect(r.body).not.toContain(word);
  });

  it('says not ready without the reason when PostgreSQL stops', async () => {
    await nodeExec('b', ['systemctl', 'stop', 'postgresql@17-main']);
    try {
      const down = await waitFor(
        'b not ready',
        () => outsiderHttp(`${B4}/health`),
        (r) => r.status === 503,
      );
      expect(JSON.parse(down.body)).toEqual({ status: 'unavailable' });
      const ready = await outsiderHttp(`${B4}/health/ready`);
      expect([ready.status, JSON.parse(ready.body)]).toEqual([503, { ok: false }]);
      // The socket keeps the reason.
      const full = await nodeSocketHttp('b', '/health/ready');
      expect(JSON.parse(full.body).reason).toContain('not accepting connections');
    } finally {
      await nodeExec('b', ['systemctl', 'start', 'postgresql@17-main']);
    }
    await waitFor(
      'b ready',
      () => outsiderHttp(`${B4}/health`),
      (r) => r.status === 200,
    );
  });

  it('keeps the full detail on the root-only socket', async () => {
    const report = healthReportSchema.parse(JSON.parse((await nodeSocketHttp('b', '/health')).body));
    expect(report.agent.node).toBe('b');
    expect(report.system.disk.path).toBe('/var/lib/postgresql/17/main');
    expect((await nodeSocketHttp('b', '/metrics')).body).toMatch(
      /^pgduplex_agent_info\{version="[^"]+",node="b"\} 1$/m,
    );
  });

  it('opens the port for monitoringHosts at start-up, journaled, and gives them everything', async () => {
    await agentOk('b', 'journal.undo', { id: testRule });
    testRule = undefined;
    expect((await outsiderHttp(`${B4}/health/live`, 2)).curlExit).toBe(28);
    const config = { ...JSON.parse(original), monitoringHosts: [LAB.outsider.ipv4, NET6] };
    await restartWith(config);
    const saved = await waitFor('both monitoring rules', rules, (t) => monitoringRule(X4).test(t) && t.includes(NET6));
    expect(saved).toMatch(monitoringRule(NET6));
    const entries = await pendingMonitoring();
    expect(entries.map((e) => e.changes).flat()).toEqual([
      `allow tcp/7740 (monitoring) from ${X4} in chain PGDUPLEX (iptables)`,
      `allow tcp/7740 (monitoring) from ${NET6} in chain PGDUPLEX (ip6tables)`,
    ]);
    for (const base of [B4, B6]) {
      const r = await outsiderHttp(`${base}/health`);
      expect(r.status, base).toBe(200);
      expect(healthReportSchema.parse(JSON.parse(r.body)).agent.node).toBe('b');
      const m = await outsiderHttp(`${base}/metrics`);
      expect(m.status).toBe(200);
      expect(m.body).toMatch(/^pgduplex_postgresql_up 1$/m);
      expect((await outsiderHttp(`${base}/health/ready?max_lag_bytes=1000000`)).status).toBe(200);
    }
    // Started again with the same list: nothing to change, nothing journaled.
    await restartWith(config);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await pendingMonitoring()).toHaveLength(2);
  });

  it('closes the port for a host that leaves the list, undoing its journal entry', async () => {
    await restartWith({ ...JSON.parse(original), monitoringHosts: [NET6] });
    await waitFor('the IPv4 rule gone', rules, (t) => !monitoringRule(X4).test(t));
    expect(await rules()).toMatch(monitoringRule(NET6));
    // The entry is marked undone just after its rule goes.
    const left = await waitFor('one entry pending', pendingMonitoring, (e) => e.length === 1);
    expect(left.map((e) => e.changes).flat()).toEqual([
      `allow tcp/7740 (monitoring) from ${NET6} in chain PGDUPLEX (ip6tables)`,
    ]);
    expect((await outsiderHttp(`${B4}/health/live`, 2)).curlExit).toBe(28);
    expect((await outsiderHttp(`${B6}/health`)).status).toBe(200);
    const log = (await nodeExec('b', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat'])).stdout;
    expect(log).toContain('monitoring host left agent.json');

    await restartWith(JSON.parse(original));
    // The last rule out takes the INPUT jump and the chain with it.
    await waitFor('no chain of ours', rules, (t) => !t.includes('PGDUPLEX'));
    await waitFor('no entry pending', pendingMonitoring, (e) => e.length === 0);
    expect((await outsiderHttp(`${B6}/health/live`, 2)).curlExit).toBe(28);
  });
});
