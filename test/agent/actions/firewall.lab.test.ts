import { afterAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { LAB, nodeExec, outsiderExec } from '../../lab/index.js';

// The journaled firewall action on node a's real agent: check, apply, verify, check again, undo.
const B4 = LAB.nodes.b.ipv4;
const B6 = LAB.nodes.b.ipv6;
const save = async (): Promise<string> => {
  const out: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const r = await nodeExec('a', [tool, '-t', 'filter']);
    out.push(r.stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n'));
  }
  return out.join('\n---\n');
};
const connects = async (from: 'b' | 'x', address: string): Promise<boolean> => {
  const argv = ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/5432`];
  const r = from === 'b' ? await nodeExec('b', argv, { reject: false }) : await outsiderExec(argv, { reject: false });
  return r.exitCode === 0;
};
const ids: string[] = [];

afterAll(async () => {
  for (const id of ids.reverse()) await agentRpc('a', 'journal.undo', { id });
});

describe('firewall action (node a, real iptables)', () => {
  const params = (peer: string) => ({ peer, ports: [{ port: 5432, purpose: 'postgresql' }] });

  it('checks, applies and verifies for IPv4 and IPv6, then has nothing left to do; undo restores iptables-save exactly', async () => {
    const before = await save();
    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(false);

    const check = await agentOk<{ changes: string[] }>('a', 'firewall.check', params(B4));
    expect(check.changes).toEqual([`allow tcp/5432 (postgresql) from ${B4} in chain PGDUPLEX (iptables)`]);
    expect(await save()).toBe(before);

    const applied = await agentOk<{ changed: boolean; journalId: string; changes: string[] }>('a', 'firewall.apply', params(B4));
    expect(applied.changed).toBe(true);
    ids.push(applied.journalId);
    const applied6 = await agentOk<{ changed: boolean; journalId: string }>('a', 'firewall.apply', params(B6));
    ids.push(applied6.journalId);

    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(true);
    expect(await connects('b', LAB.nodes.a.ipv6)).toBe(true);
    expect(await connects('x', LAB.nodes.a.ipv4)).toBe(false);

    expect((await agentOk<{ changes: string[] }>('a', 'firewall.check', params(B4))).changes).toEqual([]);
    expect(await agentOk('a', 'firewall.apply', params(B4))).toEqual({ changed: false, changes: [] });

    const journal = await agentOk<Array<{ id: string; action: string; undone: boolean }>>('a', 'journal.list');
    expect(journal.filter((e) => ids.includes(e.id)).map((e) => [e.action, e.undone])).toEqual([['firewall', false], ['firewall', false]]);

    for (const id of ids.splice(0).reverse()) expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id })).undone).toHaveLength(1);
    expect(await save()).toBe(before);
    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(false);
  });

  it('refuses bad params with a typed error and changes nothing', async () => {
    const before = await save();
    for (const bad of [params('10.0.0.0/8'), params('a.example'), { peer: B4, ports: [] }, { peer: B4, ports: [{ port: 70000, purpose: 'x' }] }]) {
      const r = await agentRpc('a', 'firewall.apply', bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('BAD_PARAMS');
    }
    expect(await save()).toBe(before);
  });

  it('will not undo the same change twice', async () => {
    const applied = await agentOk<{ journalId: string }>('a', 'firewall.apply', params(B4));
    expect((await agentRpc('a', 'journal.undo', { id: applied.journalId })).ok).toBe(true);
    const again = await agentRpc('a', 'journal.undo', { id: applied.journalId });
    expect(again).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
  });
});
