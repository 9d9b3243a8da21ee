import { describe, expect, it } from 'vitest';
import { canonicalAddress, readSourceNetwork, sourceText } from '../../../agent/firewall/address.js';

const text = (v: string) => {
  const s = readSourceNetwork(v);
  return typeof s === 'string' ? s : sourceText(s);
};

describe('readSourceNetwork (agent.json monitoringHosts)', () => {
  it('reads hosts and networks into the text iptables-save prints', () => {
    expect(text('10.0.0.5')).toBe('10.0.0.5/32');
    expect(text('10.0.0.5/32')).toBe('10.0.0.5/32');
    expect(text('192.0.2.0/24')).toBe('192.0.2.0/24');
    expect(text('FD00:0:0::5')).toBe('fd00::5/128');
    expect(text('fd00:231:7::/64')).toBe('fd00:231:7::/64');
    expect(text('10.128.0.0/9')).toBe('10.128.0.0/9');
  });

  it('says why it refuses the rest', () => {
    expect(text('192.0.2.5/24')).toBe('has host bits set; the network is "192.0.2.0/24"');
    expect(text('fd00::1/64')).toBe('has host bits set; the network is "fd00::/64"');
    expect(text('10.0.0.0/0')).toMatch(/let everyone in/);
    expect(text('10.0.0.1/33')).toMatch(/use 1\.\.32/);
    expect(text('::ffff:10.0.0.5')).toMatch(/IPv4 address written as IPv6/);
    expect(text('monitor.example')).toMatch(/hostnames are not accepted/);
    expect(text('10.0.0.1/24/8')).toMatch(/must be an address/);
    expect(text('10.0.0.1/ 8')).toMatch(/must be an address/);
    expect(text('224.0.0.1')).toMatch(/never be the source/);
    expect(readSourceNetwork(5)).toMatch(/must be/);
  });
});

describe('canonicalAddress: one text per host, to compare a socket with a stored peer', () => {
  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['::ffff:a00:1', '10.0.0.1'],
    ['0:0:0:0:0:ffff:10.0.0.1', '10.0.0.1'],
    ['10.0.0.1', '10.0.0.1'],
    ['FD00:231:7:0:0:0:0:11', 'fd00:231:7::11'],
    ['fd00:231:7::11', 'fd00:231:7::11'],
    ['::1', '::1'],
  ])('%s is %s', (text, want) => {
    expect(canonicalAddress(text)).toBe(want);
  });

  it.each([[undefined], [''], ['example.com'], ['10.0.0.1/32'], ['fe80::1%eth0'], ['::ffff:10.0.0.300']])(
    '%s is no address',
    (text) => {
      expect(canonicalAddress(text)).toBe('');
    },
  );

  it('does not take an IPv4-compatible or NAT64 address for IPv4', () => {
    expect(canonicalAddress('::10.0.0.1')).toBe('::a00:1');
    expect(canonicalAddress('64:ff9b::10.0.0.1')).toBe('64:ff9b::a00:1');
  });
});
