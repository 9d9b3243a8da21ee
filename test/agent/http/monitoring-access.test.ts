import { describe, expect, it } from 'vitest';
import { monitoringAccess, plainAddress } from '../../../agent/http/monitoring-access.js';

describe('monitoringAccess', () => {
  const allowed = monitoringAccess(['10.0.0.5/32', '192.0.2.0/24', 'fd00:231:7::/64']);

  it('matches hosts and networks, IPv4 seen on a :: socket included', () => {
    expect(allowed('10.0.0.5')).toBe(true);
    expect(allowed('::ffff:10.0.0.5')).toBe(true);
    expect(allowed('::FFFF:192.0.2.200')).toBe(true);
    expect(allowed('fd00:231:7::99')).toBe(true);
    expect(allowed('10.0.0.6')).toBe(false);
    expect(allowed('::ffff:10.0.0.6')).toBe(false);
    expect(allowed('192.0.3.1')).toBe(false);
    expect(allowed('fd00:231:8::1')).toBe(false);
    expect(allowed('127.0.0.1')).toBe(false);
    expect(allowed('::1')).toBe(false);
    expect(allowed(undefined)).toBe(false);
    expect(allowed('not an address')).toBe(false);
  });

  it('lets nobody in with an empty list', () => {
    const none = monitoringAccess([]);
    for (const a of ['10.0.0.5', '::ffff:10.0.0.5', '127.0.0.1', '::1']) expect(none(a)).toBe(false);
  });

  it('takes an IPv4-mapped source back to its IPv4 form only', () => {
    expect(plainAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(plainAddress('::ffff:0a01:0203')).toBe('::ffff:0a01:0203');
    expect(plainAddress('not::an::address')).toBeUndefined();
    // The hex form of a mapped address is matched by the allowlist all the same.
    expect(monitoringAccess(['10.1.2.3/32'])('::ffff:a01:203')).toBe(true);
  });
});
