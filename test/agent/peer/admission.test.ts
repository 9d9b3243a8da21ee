import { describe, expect, it } from 'vitest';
import { addressGate, PendingHandshakes } from '../../../agent/peer/admission.js';
import type { ErrorCode } from '../../../shared/errors.js';

const windowFor = (address: string | undefined, state?: ErrorCode) => ({
  refusalFor: (a: string): ErrorCode | undefined =>
    address === undefined ? 'PAIRING_CLOSED' : a !== address ? 'PEER_NOT_TRUSTED' : state,
});

describe('addressGate: who may reach the handshake, from the address alone', () => {
  it('lets in the trusted peer, also as an IPv4-mapped IPv6 address, and nobody else', () => {
    const gate = addressGate({ peer: { address: '10.0.0.1' } }, windowFor(undefined));
    expect(gate('10.0.0.1')).toBeUndefined();
    expect(gate('::ffff:10.0.0.1')).toBeUndefined();
    expect(gate('10.0.0.9')).toBe('PEER_NOT_TRUSTED');
    expect(gate('::ffff:10.0.0.9')).toBe('PEER_NOT_TRUSTED');
    expect(gate('')).toBe('PEER_NOT_TRUSTED');
  });

  it('compares IPv6 peers by value, not by how they are written', () => {
    const gate = addressGate({ peer: { address: 'fd00:231:7::11' } }, windowFor(undefined));
    expect(gate('fd00:231:7:0:0:0:0:11')).toBeUndefined();
    expect(gate('fd00:231:7::12')).toBe('PEER_NOT_TRUSTED');
  });

  it("lets in an open window's address; a closed or used window's reason goes to that address only", () => {
    expect(addressGate({ peer: undefined }, windowFor('10.0.0.1'))('::ffff:10.0.0.1')).toBeUndefined();
    const locked = addressGate({ peer: undefined }, windowFor('10.0.0.1', 'PAIRING_LOCKED'));
    expect(locked('10.0.0.1')).toBe('PAIRING_LOCKED');
    expect(locked('10.0.0.2')).toBe('PEER_NOT_TRUSTED');
    expect(addressGate({ peer: undefined }, windowFor(undefined))('10.0.0.2')).toBe('PAIRING_CLOSED');
  });
});

describe('PendingHandshakes', () => {
  it('caps one address below the total, and gives each slot back once', () => {
    const p = new PendingHandshakes({ maxPendingHandshakes: 5, maxPendingHandshakesPerAddress: 2 });
    const a1 = p.take('a');
    const a2 = p.take('a');
    expect(p.take('a')).toBeUndefined();
    expect(p.take('b')).toBeDefined();
    a1!();
    a1!();
    expect(p.count('a')).toBe(1);
    expect(p.take('a')).toBeDefined();
    a2!();
    expect(p.count()).toBe(2);
  });

  it('still caps the total across addresses', () => {
    const p = new PendingHandshakes({ maxPendingHandshakes: 3, maxPendingHandshakesPerAddress: 2 });
    for (const a of ['a', 'b', 'c']) expect(p.take(a)).toBeDefined();
    expect(p.take('d')).toBeUndefined();
  });
});
