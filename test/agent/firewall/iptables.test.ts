import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iptables, netfilterPersistentSave, ruleExists, saveFilter } from '../../../agent/firewall/iptables.js';
import { checkRuleArgv, peerRule } from '../../../agent/firewall/rules.js';
import { PgduplexError } from '../../../shared/errors.js';

// Fake tools (shell scripts) stand in for iptables: these tests pin the exit-code and stderr mapping.
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-fw-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fake(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

const opts = (bins: Record<string, string>, timeoutMs = 5_000) => ({ timeoutMs, bins });

async function failure(p: Promise<unknown>): Promise<PgduplexError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PgduplexError);
  return err as PgduplexError;
}

const rule = peerRule({ address: '10.231.7.12', port: 5432, purpose: 'postgresql' });

describe('running iptables', () => {
  it('passes the argv as given (comment stays one argument) in a minimal environment', async () => {
    const out = join(dir, 'args');
    const ipt = await fake('iptables', `printf '%s\\n' "$@" > ${out}; env | sort >> ${out}`);
    await iptables(4, checkRuleArgv(rule), opts({ iptables: ipt }));
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines.slice(0, 19)).toEqual([...checkRuleArgv(rule)]);
    expect(lines).toContain('pgduplex postgresql');
    expect(lines.filter((l) => /^[A-Z_]+=/.test(l) && !/^(PATH|LC_ALL|PWD|SHLVL|_)=/.test(l))).toEqual([]);
  });

  it('uses ip6tables for family 6', async () => {
    const ipt6 = await fake('ip6tables', 'exit 0');
    const ipt = await fake('iptables', 'exit 9');
    await iptables(6, ['-w', '-S'], opts({ iptables: ipt, ip6tables: ipt6 }));
  });

  it('a missing binary is TOOL_MISSING with the package to install', async () => {
    const err = await failure(iptables(4, ['-w', '-S'], opts({ iptables: join(dir, 'nope') })));
    expect(err.code).toBe('TOOL_MISSING');
    expect(err.message).toBe('nope is not installed');
    expect(err.hint).toBe('apt install iptables');
  });

  it('a permission problem is FIREWALL_DENIED with the first stderr line, version prefix stripped', async () => {
    const ipt = await fake(
      'iptables',
      `echo 'iptables v1.8.11 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' >&2; exit 4`,
    );
    const err = await failure(iptables(4, ['-w', '-t', 'filter', '-N', 'PGDUPLEX'], opts({ iptables: ipt })));
    expect(err.code).toBe('FIREWALL_DENIED');
    expect(err.message).toBe(
      'iptables -w -t filter -N PGDUPLEX was refused: Could not fetch rule set generation id: Permission denied (you must be root)',
    );
    expect(err.hint).toContain('CAP_NET_ADMIN');
  });

  it('iptables-legacy without its lock file is FIREWALL_DENIED too', async () => {
    const ipt = await fake(
      'iptables',
      `echo 'Fatal: can'"'"'t open lock file /run/xtables.lock: Permission denied' >&2; exit 4`,
    );
    expect((await failure(iptables(4, ['-w', '-S'], opts({ iptables: ipt })))).code).toBe('FIREWALL_DENIED');
  });

  it('any other failure is FIREWALL_FAILED naming the command, the exit code and the reason', async () => {
    const ipt = await fake(
      'iptables',
      `echo 'iptables v1.8.11 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain PGDUPLEX' >&2; exit 4`,
    );
    const err = await failure(iptables(4, ['-w', '-t', 'filter', '-X', 'PGDUPLEX'], opts({ iptables: ipt })));
    expect(err.code).toBe('FIREWALL_FAILED');
    expect(err.message).toBe(
      'iptables -w -t filter -X PGDUPLEX failed (exit 4): CHAIN_DEL failed (Device or resource busy): chain PGDUPLEX',
    );
    expect(err.hint).toBe('look at the current rules with "iptables-save -t filter"');
  });

  it('a hung call (xtables lock held) becomes TIMEOUT after timeoutMs', async () => {
    const ipt = await fake('iptables', 'exec sleep 5');
    const err = await failure(iptables(4, ['-w', '-S'], opts({ iptables: ipt }, 200)));
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('iptables -w -S did not finish within 200 ms');
    expect(err.hint).toContain('xtables lock');
  });
});

describe('ruleExists (-C)', () => {
  it.each([
    ['exit 0', true],
    [`echo 'iptables: Bad rule (does a matching rule exist in that chain?).' >&2; exit 1`, false],
    [`echo 'iptables: No chain/target/match by that name.' >&2; exit 1`, false],
    [`echo "iptables v1.8.11 (nf_tables): Chain 'PGDUPLEX' does not exist" >&2; exit 2`, false],
  ])('%s → %s', async (body, expected) => {
    const ipt = await fake('iptables', body);
    expect(await ruleExists(4, checkRuleArgv(rule), opts({ iptables: ipt }))).toBe(expected);
  });

  it('does not mistake a real failure for "absent"', async () => {
    const ipt = await fake(
      'iptables',
      `echo "iptables v1.8.11 (nf_tables): Couldn't load match \\\`comment':No such file or directory" >&2; exit 2`,
    );
    const err = await failure(ruleExists(4, checkRuleArgv(rule), opts({ iptables: ipt })));
    expect(err.code).toBe('FIREWALL_FAILED');
    expect(err.message).toContain("Couldn't load match `comment'");
  });
});

describe('saveFilter and netfilterPersistentSave', () => {
  it('returns iptables-save output for the right family', async () => {
    const save6 = await fake('ip6tables-save', `echo "*filter $1 $2"`);
    expect(await saveFilter(6, opts({ ip6tablesSave: save6 }))).toBe('*filter -t filter\n');
  });

  it('netfilter-persistent: absent is false, success is true, failure is FIREWALL_FAILED', async () => {
    expect(await netfilterPersistentSave(opts({ netfilterPersistent: join(dir, 'netfilter-persistent') }))).toBe(false);
    const ok = await fake('netfilter-persistent', '[ "$1" = save ] || exit 3');
    expect(await netfilterPersistentSave(opts({ netfilterPersistent: ok }))).toBe(true);
    const bad = await fake(
      'nfp',
      'echo "run-parts: /usr/share/netfilter-persistent/plugins.d/15-ip4tables exited with return code 1" >&2; exit 1',
    );
    const err = await failure(netfilterPersistentSave(opts({ netfilterPersistent: bad })));
    expect(err.code).toBe('FIREWALL_FAILED');
    expect(err.hint).toContain('netfilter-persistent save');
  });
});
