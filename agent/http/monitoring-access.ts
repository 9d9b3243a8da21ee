import { BlockList, isIP } from 'node:net';

/** A request's source as the allowlist matches it: `::ffff:10.0.0.5` (IPv4 on a `::` socket) is 10.0.0.5. */
export function plainAddress(remote: string | undefined): string | undefined {
  if (remote === undefined) return undefined;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(remote);
  const address = mapped?.[1] ?? remote;
  return isIP(address) === 0 ? undefined : address;
}

/**
 * Whether a TCP client is one of agent.json's monitoringHosts (hosts and networks, in the canonical
 * `address/prefix` text the config gives): they alone get /health and /metrics in full over TCP.
 */
export function monitoringAccess(sources: readonly string[]): (remote: string | undefined) => boolean {
  const list = new BlockList();
  for (const s of sources) {
    const [address = '', prefix = ''] = s.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, Number(prefix || (family === 'ipv6' ? 128 : 32)), family);
  }
  return (remote) => {
    const address = plainAddress(remote);
    if (address === undefined || sources.length === 0) return false;
    try {
      return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
    } catch {
      return false;
    }
  };
}
