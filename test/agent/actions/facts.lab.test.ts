import { describe, expect, it } from 'vitest';
import { factsAction } from '../../../shared/protocol/facts.js';
import { agentOk } from '../../lab/agent-rpc.js';
import { LAB, nodeExec } from '../../lab/index.js';

describe('facts action (node a, real node)', () => {
  it('reports the OS, systemd, tools, addresses, the cluster and the replication settings', async () => {
    const f = factsAction.result.parse(await agentOk('a', 'facts'));
    expect(f.node).toBe('a');
    expect(f.os.distro).toContain('Debian');
    expect(f.systemd).toBe(true);
    expect(f.tools).toMatchObject({ iptables: true, ip6tables: true, pg_dump: true, 'netfilter-persistent': false });
    expect(f.addresses.map((a) => a.address)).toEqual(expect.arrayContaining([LAB.nodes.a.ipv4, LAB.nodes.a.ipv6]));
    expect(f.clusters).toEqual([
      expect.objectContaining({ version: '17', name: 'main', port: 5432, service: 'postgresql@17-main' }),
    ]);
    if (!f.postgresql.ready) throw new Error(f.postgresql.reason);
    expect(f.postgresql.serverVersion).toMatch(/^17\./);
    expect(f.postgresql.databases).toContain('fusionpbx');
    expect(f.postgresql.settings['wal_level']?.value).toBe('replica');
    expect(f.postgresql.settings['listen_addresses']).toMatchObject({ value: 'localhost', base: 'localhost' });
    expect(Object.keys(f.postgresql.settings)).toHaveLength(12);
    expect(f.postgresql.disk.data.freeBytes).toBeGreaterThan(0);
    expect(f.postgresql.disk.wal.path).toBe('/var/lib/postgresql/17/main/pg_wal');
  });

  it('says why PostgreSQL facts are missing when it is stopped, and still reports the rest', async () => {
    await nodeExec('a', ['systemctl', 'stop', 'postgresql@17-main']);
    try {
      const f = factsAction.result.parse(await agentOk('a', 'facts'));
      expect(f.postgresql).toMatchObject({ ready: false, code: 'PG_UNREACHABLE' });
      expect(f.clusters).toHaveLength(1);
    } finally {
      await nodeExec('a', ['systemctl', 'start', 'postgresql@17-main']);
    }
  });
});
