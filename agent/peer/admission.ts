import type { ErrorCode } from '../../shared/errors.js';
import { canonicalAddress } from '../firewall/address.js';

/** Why a connection from an address is refused before any crypto; undefined lets it reach the handshake. */
export type AddressGate = (address: string) => ErrorCode | undefined;

/** Only the trusted peer's address and an open pairing window's get a handshake: strangers cost no signature. */
export function addressGate(
  trust: { readonly peer: { address: string } | undefined },
  window: { refusalFor(address: string): ErrorCode | undefined },
): AddressGate {
  return (address) => {
    const a = canonicalAddress(address);
    if (a === '') return 'PEER_NOT_TRUSTED';
    const peer = trust.peer;
    if (peer && canonicalAddress(peer.address) === a) return undefined;
    const refused = window.refusalFor(a);
    return refused === 'PAIRING_CLOSED' && peer ? 'PEER_NOT_TRUSTED' : refused;
  };
}

/** The caps on handshakes not yet authenticated, from agent.json's limits. */
export interface PendingLimits {
  maxPendingHandshakes: number;
  maxPendingHandshakesPerAddress: number;
}

/** Handshakes not yet authenticated, in all and per address: one address cannot take every slot. */
export class PendingHandshakes {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: PendingLimits) {}

  /** Takes a slot for `address`: its release (safe to call twice), or undefined when a cap is reached. */
  take(address: string): (() => void) | undefined {
    const mine = this.byAddress.get(address) ?? 0;
    if (this.total >= this.limits.maxPendingHandshakes || mine >= this.limits.maxPendingHandshakesPerAddress)
      return undefined;
    this.total += 1;
    this.byAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }

  /** Slots taken, in all and by `address`. */
  count(address?: string): number {
    return address === undefined ? this.total : (this.byAddress.get(address) ?? 0);
  }
}
