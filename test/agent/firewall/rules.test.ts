import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  appendRuleArgv,
  checkJumpArgv,
  checkRuleArgv,
  deleteChainArgv,
  deleteJumpArgv,
  deleteRuleArgv,
  insertJumpArgv,
  newChainArgv,
  peerRule,
  ruleSpec,
  saveArgv,
} from '../../../agent/firewall/rules.js';
import { PgduplexError } from '../../../shared/errors.js';

function badParams(fn: () => unknown): PgduplexError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PgduplexError);
    expect((err as PgduplexError).code).toBe('BAD_PARAMS');
    return err as PgduplexError;
  }
  throw new Error('expected BAD_PARAMS');
}

const v4 = peerRule({ address: '10.231.7.12', port: 5432, purpose: 'postgresql' });
const v6 = peerRule({ address: 'fd00:231:7::12', port: 7740, purpose: 'agent' });

describe('peerRule validation', () => {
  it('picks the family from the address and keeps the rest', () => {
    expect(v4).toEqual({ address: '10.231.7.12', family: 4, prefix: 32, port: 5432, purpose: 'postgresql' });
    expect(v6).toEqual({ address: 'fd00:231:7::12', family: 6, prefix: 128, port: 7740, purpose: 'agent' });
  });

  it('accepts /32 and /128 and prints addresses the way iptables-save does', () => {
    const addr = (address: string) => peerRule({ address, port: 1, purpose: 'a' }).address;
    expect(addr('10.231.7.12/32')).toBe('10.231.7.12');
    expect(addr('FD00:0231:0007:0000:0000:0000:0000:0012/128')).toBe('fd00:231:7::12');
    expect(addr('1:0:0:1:0:0:0:1')).toBe('1:0:0:1::1');
    expect(addr('1:0:0:0:1:0:0:1')).toBe('1::1:0:0:1');
    expect(addr('1:2:3:4:5:6:7:0')).toBe('1:2:3:4:5:6:7:0');
    expect(addr('::1')).toBe('::1');
    expect(addr('fe80::')).toBe('fe80::');
    expect(addr('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
  });

  it.each([
    ['10.231.7.0/24', 'is a network'],
    ['10.231.7.12/31', 'is a network'],
    ['fd00::/64', 'is a network'],
    ['fd00::12/127', 'is a network'],
    ['10.0.0.1/32/32', 'is not a single'],
    ['pbx-b.example.com', 'hostnames are not accepted'],
    ['localhost', 'hostnames are not accepted'],
    ['010.1.1.1', 'is not a single'],
    ['10.1.1', 'is not a single'],
    [' 10.1.1.1', 'is not a single'],
    ['fe80::1%eth0', 'is not a single'],
    ['0.0.0.0', 'can never be the source'],
    ['255.255.255.255', 'can never be the source'],
    ['224.0.0.5', 'can never be the source'],
    ['::', 'can never be the source'],
    ['ff02::1', 'can never be the source'],
    ['::ffff:10.0.0.1', 'IPv4 address written as IPv6'],
    ['::10.0.0.1', 'IPv4 address written as IPv6'],
    ['', 'is not a single'],
  ])('rejects address %j', (address, why) => {
    const err = badParams(() => peerRule({ address, port: 5432, purpose: 'postgresql' }));
    expect(err.message).toContain(JSON.stringify(address));
    expect(err.message).toContain(why);
    expect(err.hint).toBeDefined();
  });

  it.each([[0], [65536], [-1], [54.32], [Number.NaN], ['5432'], [null]])('rejects port %j', (port) => {
    const err = badParams(() => peerRule({ address: '10.0.0.1', port, purpose: 'postgresql' }));
    expect(err.message).toMatch(/^port .* is not a TCP port \(1\.\.65535\)$/);
  });

  it.each([[''], ['PostgreSQL'], ['1abc'], ['pg sql'], ['pg"x'], ['a'.repeat(33)], [7]])(
    'rejects purpose %j',
    (purpose) => {
      const err = badParams(() => peerRule({ address: '10.0.0.1', port: 5432, purpose }));
      expect(err.message).toContain('purpose');
    },
  );

  it('accepts the longest purpose and the port limits', () => {
    expect(peerRule({ address: '10.0.0.1', port: 1, purpose: `a${'-'.repeat(31)}` }).port).toBe(1);
    expect(peerRule({ address: '10.0.0.1', port: 65535, purpose: 'x9' }).port).toBe(65535);
  });

  it('rejects things that are not a rule at all, and quotes long values briefly', () => {
    badParams(() => peerRule(null));
    badParams(() => peerRule('10.0.0.1'));
    const err = badParams(() => peerRule({ address: 'x'.repeat(10_000), port: 1, purpose: 'a' }));
    expect(err.message.length).toBeLessThan(200);
  });

  it('never crashes on random input: always BAD_PARAMS or a rule that is valid', () => {
    const address = fc.oneof(
      fc.string(),
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4().map((a) => `${a}/32`),
      fc.ipV6().map((a) => `${a}/128`),
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([a, n]) => `${a}/${n}`),
    );
    const purpose = fc.oneof(fc.string(), fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/));
    const port = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.double(), fc.constant(5432));
    fc.assert(
      fc.property(address, port, purpose, (a, p, u) => {
        let rule;
        try {
          rule = peerRule({ address: a, port: p, purpose: u });
        } catch (err) {
          return err instanceof PgduplexError && err.code === 'BAD_PARAMS';
        }
        return (
          isIP(rule.address) === rule.family &&
          !rule.address.includes('/') &&
          Number.isInteger(rule.port) &&
          rule.port >= 1 &&
          rule.port <= 65535 &&
          /^[a-z][a-z0-9-]{0,31}$/.test(rule.purpose) &&
          peerRule(rule).address === rule.address
        );
      }),
      { numRuns: 2000 },
    );
  });
});

describe('argv builders', () => {
  const spec4 = [
    '-s',
    '10.231.7.12/32',
    '-p',
    'tcp',
    '-m',
    'tcp',
    '--dport',
    '5432',
    '-m',
    'comment',
    '--comment',
    'pgduplex postgresql',
    '-j',
    'ACCEPT',
  ];

  it('build one rule spec in iptables-save order, the comment as one argv element', () => {
    expect(ruleSpec(v4)).toEqual(spec4);
    expect(ruleSpec(v6)).toEqual([
      '-s',
      'fd00:231:7::12/128',
      '-p',
      'tcp',
      '-m',
      'tcp',
      '--dport',
      '7740',
      '-m',
      'comment',
      '--comment',
      'pgduplex agent',
      '-j',
      'ACCEPT',
    ]);
  });

  it('wait for the xtables lock and name the filter table on every call', () => {
    const all = [
      checkRuleArgv(v4),
      appendRuleArgv(v4),
      deleteRuleArgv(v4),
      checkJumpArgv(),
      insertJumpArgv(),
      deleteJumpArgv(),
      newChainArgv(),
      deleteChainArgv(),
    ];
    for (const argv of all) expect(argv.slice(0, 3)).toEqual(['-w', '-t', 'filter']);
  });

  it('check before append/delete use the same spec; the jump goes to INPUT position 1', () => {
    expect(checkRuleArgv(v4)).toEqual(['-w', '-t', 'filter', '-C', 'PGDUPLEX', ...spec4]);
    expect(appendRuleArgv(v4)).toEqual(['-w', '-t', 'filter', '-A', 'PGDUPLEX', ...spec4]);
    expect(deleteRuleArgv(v4)).toEqual(['-w', '-t', 'filter', '-D', 'PGDUPLEX', ...spec4]);
    expect(checkJumpArgv()).toEqual(['-w', '-t', 'filter', '-C', 'INPUT', '-j', 'PGDUPLEX']);
    expect(insertJumpArgv()).toEqual(['-w', '-t', 'filter', '-I', 'INPUT', '1', '-j', 'PGDUPLEX']);
    expect(deleteJumpArgv()).toEqual(['-w', '-t', 'filter', '-D', 'INPUT', '-j', 'PGDUPLEX']);
    expect(newChainArgv()).toEqual(['-w', '-t', 'filter', '-N', 'PGDUPLEX']);
    expect(deleteChainArgv()).toEqual(['-w', '-t', 'filter', '-X', 'PGDUPLEX']);
    expect(saveArgv()).toEqual(['-t', 'filter']);
  });
});
