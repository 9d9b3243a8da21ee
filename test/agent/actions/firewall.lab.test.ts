import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { listenOnLabAddresses } from '../../lab/listen.js';
import { killMainPid } from '../../faults/faults.js';
import { waitFor } from '../../lab/http.js';
import { LAB, nodeExec, outsiderExec } from '../../lab/index.js';

// The journaled firewall action on node a's real agent: check, apply, verify, check again, undo.
const B4 = LAB.nodes.b.ipv4;
const B6 = LAB.nodes.b.ipv6;
const save = async (): Promise<string> => {
  const out: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const r = await nodeExec('a', [tool, '-t', 'filter']);
    out.push(
      r.stdout
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
        .join('\n'),
    );
  }
  return out.join('\n---\n');
};
const connects = async (from: 'b' | 'x', address: string): Promise<boolean> => {
  const argv = ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/5432`];
  const r = from === 'b' ? await nodeExec('b', argv, { reject: false }) : await outsiderExec(argv, { reject: false });
  return r.exitCode === 0;
};
const ids: string[] = [];
let unlisten: () => Promise<void> = async () => undefined;

// FS PBX leaves PostgreSQL on localhost: a connection the firewall lets through needs a listener behind it.
beforeAll(async () => {
  unlisten = await listenOnLabAddresses('a');
}, 120_000);

afterAll(async () => {
  for (const id of ids.reverse()) await agentRpc('a', 'journal.undo', { id });
  await unlisten();
}, 120_000);

describe('firewall action (node a, real iptables)', () => {
  const params = (peer: string) => ({ peer, ports: [{ port: 5432, purpose: 'postgresql' }] });

  it('checks, applies and verifies for IPv4 and IPv6, then has nothing left to do; undo restores iptables-save exactly', async () => {
    const before = await save();
    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(false);

    const check = await agentOk<{ changes: string[] }>('a', 'firewall.check', params(B4));
    expect(check.changes).toEqual([`allow tcp/5432 (postgresql) from ${B4} in chain PGDUPLEX (iptables)`]);
    expect(await save()).toBe(before);

    const applied = await agentOk<{ changed: boolean; journalId: string; changes: string[] }>(
      'a',
      'firewall.apply',
      params(B4),
    );
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
    expect(journal.filter((e) => ids.includes(e.id)).map((e) => [e.action, e.undone])).toEqual([
      ['firewall', false],
      ['firewall', false],
    ]);

    for (const id of ids.splice(0).reverse())
      expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id })).undone).toHaveLength(1);
    expect(await save()).toBe(before);
    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(false);
  });

  it('refuses bad params with a typed error and changes nothing', async () => {
    const before = await save();
    for (const bad of [
      params('10.0.0.0/8'),
      params('a.example'),
      { peer: B4, ports: [] },
      { peer: B4, ports: [{ port: 70000, purpose: 'x' }] },
    ]) {
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
    expect(again).toMatchObject({ ok: false, error: { code: 'REFUSED' } });
  });

  it('an agent killed after adding a rule but before finishing has journaled it ahead: listed interrupted, undone by its entry', async () => {
    const before = await save();
    const link = (await nodeExec('a', ['readlink', '/etc/alternatives/iptables'])).stdout.trim();
    // iptables that adds the rule, then holds the agent in the window until the agent is gone (the marker goes in
    // the agent's runtime dir: the rest of /run is read-only to it).
    const slow = `#!/bin/sh\n${link} "$@"; rc=$?\ncase " $* " in *" -A PGDUPLEX "*) touch /run/pgduplex/pgdx-window; n=0; while kill -0 $PPID 2>/dev/null && [ $n -lt 1200 ]; do sleep 0.1; n=$((n+1)); done;; esac\nexit $rc\n`;
    await nodeExec('a', [
      'bash',
      '-c',
      'rm -f /run/pgduplex/pgdx-window; printf "%b" "$1" > /usr/local/sbin/pgdx-iptables; chmod 755 /usr/local/sbin/pgdx-iptables; ln -sfn /usr/local/sbin/pgdx-iptables /etc/alternatives/iptables',
      'x',
      slow,
    ]);
    let answered: unknown;
    try {
      const call = agentRpc('a', 'firewall.apply', params(B4)).then(
        (r) => (answered = r),
        (e: unknown) => (answered = e),
      );
      await waitFor(
        'the rule added, the action not finished',
        () => nodeExec('a', ['test', '-e', '/run/pgduplex/pgdx-window'], { reject: false }),
        (r) => r.exitCode === 0,
        30_000,
      );
      await nodeExec('a', ['ln', '-sfn', link, '/etc/alternatives/iptables']);
      await killMainPid('a', 'pgduplex-agent');
      await call;
    } finally {
      await nodeExec('a', [
        'bash',
        '-c',
        'ln -sfn "$1" /etc/alternatives/iptables; rm -f /usr/local/sbin/pgdx-iptables /run/pgduplex/pgdx-window',
        'x',
        link,
      ]);
    }
    expect(answered).not.toMatchObject({ ok: true });
    // Up to TimeoutStopSec (90 s) here: systemd also stops the killed agent's children, and on this lab's
    // shared cgroup-v1 tree it never sees the unit's cgroup empty (other nodes' agents are in it).
    await waitFor(
      'the agent back',
      () => agentRpc('a', 'whoami').catch(() => undefined),
      (r) => r?.ok === true,
      150_000,
    );

    // Killed after the rule went into the chain, before the INPUT jump: partly in place, and journaled.
    const rules = (await nodeExec('a', ['iptables', '-S', 'PGDUPLEX'])).stdout;
    expect(rules).toContain(`-A PGDUPLEX -s ${B4}/32`);
    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(false);
    const entry = (
      await agentOk<Array<{ id: string; action: string; changes: string[]; interrupted: boolean; undone: boolean }>>(
        'a',
        'journal.list',
      )
    ).at(-1);
    expect(entry).toMatchObject({
      action: 'firewall',
      interrupted: true,
      undone: false,
      changes: [`allow tcp/5432 (postgresql) from ${B4} in chain PGDUPLEX (iptables)`],
    });
    expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: entry?.id })).undone).toEqual([
      `removed: allow tcp/5432 (postgresql) from ${B4} in chain PGDUPLEX (iptables)`,
    ]);
    expect(await save()).toBe(before);
  }, 240_000);

  it('a failed apply whose rollback fails too stays journaled (interrupted), says so, and its undo cleans up', async () => {
    const before = await save();
    const link = (await nodeExec('a', ['readlink', '/etc/alternatives/iptables'])).stdout.trim();
    // iptables that refuses the INPUT jump (the apply fails after adding the rule) and the rule's removal (the rollback fails).
    const broken = `#!/bin/sh\ncase " $* " in *" -I INPUT "*|*" -D PGDUPLEX "*) echo "pgdx test: refused" >&2; exit 4;; esac\nexec ${link} "$@"\n`;
    await nodeExec('a', [
      'bash',
      '-c',
      'printf "%b" "$1" > /usr/local/sbin/pgdx-iptables; chmod 755 /usr/local/sbin/pgdx-iptables; ln -sfn /usr/local/sbin/pgdx-iptables /etc/alternatives/iptables',
      'x',
      broken,
    ]);
    let r: Awaited<ReturnType<typeof agentRpc>>;
    try {
      r = await agentRpc('a', 'firewall.apply', params(B4));
    } finally {
      await nodeExec('a', [
        'bash',
        '-c',
        'ln -sfn "$1" /etc/alternatives/iptables; rm -f /usr/local/sbin/pgdx-iptables',
        'x',
        link,
      ]);
    }
    const entry = (
      await agentOk<Array<{ id: string; action: string; interrupted: boolean; undone: boolean }>>('a', 'journal.list')
    ).at(-1);
    expect(entry).toMatchObject({ action: 'firewall', interrupted: true, undone: false });
    expect(r).toMatchObject({ ok: false, error: { code: 'FIREWALL_FAILED' } });
    if (!r.ok) expect(r.error.message).toContain(`rolling it back failed too`);
    if (!r.ok) expect(r.error.message).toContain(`so journal entry ${entry?.id} stays`);
    expect((await nodeExec('a', ['iptables', '-S', 'PGDUPLEX'])).stdout).toContain(`-A PGDUPLEX -s ${B4}/32`);
    await agentOk('a', 'journal.undo', { id: entry?.id });
    expect(await save()).toBe(before);
  });

  it('a rule whose INPUT jump is gone takes no effect, so check and apply put the jump back', async () => {
    const before = await save();
    const { journalId } = await agentOk<{ journalId: string }>('a', 'firewall.apply', params(B4));
    await nodeExec('a', ['iptables', '-w', '-D', 'INPUT', '-j', 'PGDUPLEX']);
    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(false);
    expect((await agentOk<{ changes: string[] }>('a', 'firewall.check', params(B4))).changes).toHaveLength(1);
    const again = await agentOk<{ changed: boolean; journalId: string }>('a', 'firewall.apply', params(B4));
    expect(again.changed).toBe(true);
    expect(await connects('b', LAB.nodes.a.ipv4)).toBe(true);
    for (const id of [again.journalId, journalId]) await agentOk('a', 'journal.undo', { id });
    expect(await save()).toBe(before);
  });

  it('undoing an interrupted entry whose change never happened changes nothing', async () => {
    const before = await save();
    const id = 'c0ffee00-0000-4000-8000-00000000f1e1';
    const intent = {
      type: 'intent',
      id,
      at: new Date().toISOString(),
      action: 'firewall',
      changes: ['allow (never made)'],
      undo: { added: [{ address: B4, port: 5432, purpose: 'postgresql' }] },
    };
    await nodeExec('a', ['bash', '-c', 'cat >> /var/lib/pgduplex/journal.jsonl'], {
      input: `${JSON.stringify(intent)}\n`,
    });
    expect(
      (await agentOk<Array<{ id: string; interrupted: boolean }>>('a', 'journal.list')).find((e) => e.id === id),
    ).toMatchObject({ interrupted: true });
    expect(await agentOk('a', 'journal.undo', { id })).toEqual({ undone: [] });
    expect(await save()).toBe(before);
  });
});
