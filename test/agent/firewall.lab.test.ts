import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorJSON } from '../../shared/errors.js';
import { installDriver } from '../lab/driver.js';
import { LAB, nodeExec, outsiderExec } from '../lab/index.js';
import { listenOnLabAddresses } from '../lab/listen.js';

// The firewall layer runs for real inside node a (its own netns, real iptables); b and x knock on port 5432.
const DRIVER = '/var/tmp/fw-driver.mjs';
const A = LAB.nodes.a;
const B = LAB.nodes.b;
type Rule = { address: string; port: number; purpose: string };
const PG4: Rule = { address: B.ipv4, port: LAB.pgPort, purpose: 'postgresql' };
const PG6: Rule = { address: B.ipv6, port: LAB.pgPort, purpose: 'postgresql' };
const AGENT4: Rule = { address: B.ipv4, port: 7740, purpose: 'agent' };

type Outcome = { ok: true; result: any } | { ok: false; error: ErrorJSON };

async function driver(op: string, rule?: Rule): Promise<Outcome> {
  const r = await nodeExec('a', ['node', DRIVER, JSON.stringify({ op, rule })], { reject: false });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) throw new Error(`driver ${op} printed no JSON (exit ${r.exitCode}): ${r.stderr}`);
  return JSON.parse(last) as Outcome;
}

async function fw(op: string, rule?: Rule): Promise<any> {
  const out = await driver(op, rule);
  if (!out.ok) throw new Error(`${op} failed: ${JSON.stringify(out.error)}`);
  return out.result;
}

const tool = (family: 4 | 6): string => (family === 4 ? 'iptables' : 'ip6tables');

/** iptables-save without the timestamped comment lines and with counters zeroed. */
async function savedFilter(family: 4 | 6): Promise<string> {
  const out = (await nodeExec('a', [`${tool(family)}-save`, '-t', 'filter'])).stdout;
  return out
    .split('\n')
    .filter((l) => !l.startsWith('#') && l.trim() !== '')
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}

async function rulesOf(family: 4 | 6, chain: string): Promise<string[]> {
  return (await nodeExec('a', [tool(family), '-w', '-S', chain])).stdout.trim().split('\n');
}

/** Exit 0: the TCP handshake completed; 124: nothing answered within 3 s (dropped). */
async function connectExit(from: 'b' | 'x', host: string): Promise<number> {
  const argv = ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${LAB.pgPort}`];
  const r = from === 'b' ? await nodeExec('b', argv, { reject: false }) : await outsiderExec(argv, { reject: false });
  return r.exitCode;
}

const snapshot: Partial<Record<4 | 6, string>> = {};
let unlisten: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  // FS PBX leaves PostgreSQL on localhost: a connection the firewall lets through needs a listener behind it.
  unlisten = await listenOnLabAddresses('a');
  await installDriver('a', new URL('./firewall/driver.ts', import.meta.url), DRIVER);
  snapshot[4] = await savedFilter(4);
  snapshot[6] = await savedFilter(6);
});

afterAll(async () => {
  const listed = await driver('list').catch(() => undefined);
  if (listed?.ok) for (const r of listed.result as Rule[]) await driver('revoke', r).catch(() => undefined);
  for (const t of ['iptables', 'ip6tables']) {
    const leftover = await nodeExec('a', [t, '-w', '-S', 'PGDUPLEX'], { reject: false });
    if (leftover.exitCode !== 0) continue;
    await nodeExec('a', [t, '-w', '-D', 'INPUT', '-j', 'PGDUPLEX'], { reject: false });
    await nodeExec('a', [t, '-w', '-F', 'PGDUPLEX'], { reject: false });
    await nodeExec('a', [t, '-w', '-X', 'PGDUPLEX'], { reject: false });
  }
  await nodeExec('a', ['rm', '-f', DRIVER], { reject: false });
  await unlisten();
}, 120_000);

describe('firewall layer on a real node (lab node a, real iptables/ip6tables)', () => {
  it('starts closed: PostgreSQL on a is dropped for b and for the outsider', async () => {
    expect(snapshot[4]).not.toContain('PGDUPLEX');
    expect(await connectExit('b', A.ipv4)).toBe(124);
    expect(await connectExit('x', A.ipv4)).toBe(124);
  });

  it('opens 5432 to b over IPv4 only, with the jump at INPUT position 1', async () => {
    expect(await fw('allow', PG4)).toEqual({ changed: true, family: 4 });
    expect(await connectExit('b', A.ipv4)).toBe(0);
    expect(await connectExit('x', A.ipv4)).toBe(124);
    expect(await connectExit('b', A.ipv6)).toBe(124);
    const input = await rulesOf(4, 'INPUT');
    expect(input[0]).toBe('-P INPUT DROP');
    expect(input[1]).toBe('-A INPUT -j PGDUPLEX');
    expect(input.filter((l) => l.includes('PGDUPLEX'))).toHaveLength(1);
    expect(await rulesOf(4, 'PGDUPLEX')).toEqual([
      '-N PGDUPLEX',
      `-A PGDUPLEX -s ${B.ipv4}/32 -p tcp -m tcp --dport 5432 -m comment --comment "pgduplex postgresql" -j ACCEPT`,
    ]);
  });

  it('is idempotent: allowing again changes nothing and leaves one rule', async () => {
    const before = await savedFilter(4);
    expect(await fw('allow', PG4)).toEqual({ changed: false, family: 4 });
    expect(await fw('allow', { ...PG4, address: `${B.ipv4}/32` })).toEqual({ changed: false, family: 4 });
    expect(await savedFilter(4)).toBe(before);
  });

  it('puts the jump back on top when something was inserted above it', async () => {
    await nodeExec('a', ['iptables', '-w', '-I', 'INPUT', '1', '-p', 'udp', '--dport', '9', '-j', 'DROP']);
    try {
      expect(await fw('allow', PG4)).toEqual({ changed: true, family: 4 });
      const input = await rulesOf(4, 'INPUT');
      expect(input[1]).toBe('-A INPUT -j PGDUPLEX');
      expect(input.filter((l) => l === '-A INPUT -j PGDUPLEX')).toHaveLength(1);
    } finally {
      await nodeExec('a', ['iptables', '-w', '-D', 'INPUT', '-p', 'udp', '--dport', '9', '-j', 'DROP']);
    }
  });

  it('does the same for IPv6 with ip6tables', async () => {
    expect(await fw('allow', PG6)).toEqual({ changed: true, family: 6 });
    expect(await fw('allow', { ...PG6, address: 'FD00:0231:0007:0000::12' })).toEqual({ changed: false, family: 6 });
    expect(await connectExit('b', `${A.ipv6}`)).toBe(0);
    expect(await connectExit('x', `${A.ipv6}`)).toBe(124);
    const input = await rulesOf(6, 'INPUT');
    expect(input[1]).toBe('-A INPUT -j PGDUPLEX');
    expect(await rulesOf(6, 'PGDUPLEX')).toEqual([
      '-N PGDUPLEX',
      `-A PGDUPLEX -s ${B.ipv6}/128 -p tcp -m tcp --dport 5432 -m comment --comment "pgduplex postgresql" -j ACCEPT`,
    ]);
  });

  it('lists exactly its own rules, both families', async () => {
    await fw('allow', AGENT4);
    expect(await fw('list')).toEqual([
      { family: 4, prefix: 32, ...PG4, live: true },
      { family: 4, prefix: 32, ...AGENT4, live: true },
      { family: 6, prefix: 128, ...PG6, live: true },
    ]);
  });

  it('refuses bad input before touching iptables', async () => {
    const before = await savedFilter(4);
    for (const bad of [
      { ...PG4, address: LAB.prefix4 },
      { ...PG4, address: 'b' },
      { ...PG4, port: 0 },
      { ...PG4, purpose: 'x y' },
    ]) {
      const out = await driver('allow', bad);
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.error.code).toBe('BAD_PARAMS');
    }
    expect(await savedFilter(4)).toBe(before);
  });

  it('revokes one rule at a time; the last one out leaves iptables-save exactly as it found it', async () => {
    expect(await fw('revoke', PG4)).toEqual({ changed: true });
    expect(await connectExit('b', A.ipv4)).toBe(124);
    expect(await rulesOf(4, 'INPUT')).toContain('-A INPUT -j PGDUPLEX');
    expect(await fw('revoke', AGENT4)).toEqual({ changed: true });
    expect(await savedFilter(4)).toBe(snapshot[4]);
    expect(await fw('revoke', AGENT4)).toEqual({ changed: false });

    expect(await fw('revoke', PG6)).toEqual({ changed: true });
    expect(await savedFilter(6)).toBe(snapshot[6]);
    expect(await connectExit('b', A.ipv6)).toBe(124);
    expect(await fw('list')).toEqual([]);
  });

  it('says plainly that the rules do not survive a reboot without netfilter-persistent', async () => {
    expect(await fw('persist')).toEqual({
      persisted: false,
      reason:
        'netfilter-persistent is not installed; rules last until reboot (apt install iptables-persistent to keep them)',
    });
  });
});
