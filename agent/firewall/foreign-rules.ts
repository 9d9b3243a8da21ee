import type { HostAddress } from './address.js';
import { tokenizeSaveLine } from './save.js';

/** An INPUT rule, not pgduplex's, that lets the peer reach a TCP port: what FS PBX's script appends. */
export interface ForeignPortRule {
  family: 4 | 6;
  position: number;
  rule: string;
}

const covers = (spec: string, port: number): boolean =>
  spec.split(',').some((part) => {
    const [lo = '', hi] = part.split(':');
    const from = lo === '' ? 0 : Number(lo);
    const to = hi === undefined ? from : hi === '' ? 65535 : Number(hi);
    return Number.isInteger(from) && Number.isInteger(to) && from <= port && port <= to;
  });

/**
 * The INPUT rules of an `iptables-save -t filter` listing that ACCEPT tcp to `port` from exactly the peer's
 * host address (`-s <peer>/32`, as `iptables -A INPUT -p tcp --dport 5432 -s <peer> -j ACCEPT` saves);
 * pgduplex's own rules live in its chain and are never among them. Negated matches are left alone.
 */
export function foreignPortRules(saveText: string, peer: HostAddress, port: number): ForeignPortRule[] {
  const hostBits = peer.family === 4 ? 32 : 128;
  const found: ForeignPortRule[] = [];
  let inFilter = false;
  let position = 0;
  for (const raw of saveText.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inFilter = line === '*filter';
    if (!inFilter || !line.startsWith('-A INPUT ')) continue;
    position++;
    const tokens = tokenizeSaveLine(line);
    const value = (...flags: string[]) => {
      const at = tokens.findIndex((t) => flags.includes(t));
      return at < 0 ? undefined : tokens[at + 1];
    };
    if (tokens.includes('!') || value('-j') !== 'ACCEPT' || value('-p') !== 'tcp') continue;
    const source = value('-s');
    if (source !== `${peer.address}/${hostBits}` && source !== peer.address) continue;
    const dport = value('--dport', '--destination-port', '--dports', '--destination-ports');
    if (dport !== undefined && covers(dport, port)) found.push({ family: peer.family, position, rule: line });
  }
  return found;
}
