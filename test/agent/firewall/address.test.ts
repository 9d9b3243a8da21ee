import { describe, expect, it } from 'vitest';
import { canonicalAddress } from '../../../agent/firewall/address.js';

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
