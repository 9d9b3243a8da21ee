import { isIPv4, isIPv6 } from 'node:net';
import { PgduplexError } from '../../shared/errors.js';

/** The IP family of a rule: picks iptables (4) or ip6tables (6). */
export type Family = 4 | 6;

/** A validated single-host address in the exact text iptables-save prints, so rules round-trip. */
export interface HostAddress {
  address: string;
  family: Family;
}

/** Quotes a rejected value for an error message without letting a huge or binary string through. */
export function describeValue(value: unknown): string {
  if (typeof value !== 'string')
    return value === null ? 'null' : typeof value === 'number' ? String(value) : `a ${typeof value}`;
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/**
 * Accepts one IPv4 or IPv6 host (optionally written with /32 or /128) and nothing else: no networks,
 * no hostnames, no zone ids, no addresses that can never be a peer's source.
 */
export function parseHostAddress(value: unknown): HostAddress {
  const bad = (why: string): PgduplexError =>
    new PgduplexError('BAD_PARAMS', `address ${describeValue(value)} ${why}`, {
      hint: 'give the peer as one IPv4 or IPv6 address, e.g. 10.0.0.2 or fd00::2',
    });
  if (typeof value !== 'string' || value.length > 64) throw bad('is not a single IPv4 or IPv6 address');
  const [host = '', prefix, ...rest] = value.split('/');
  if (rest.length > 0) throw bad('is not a single IPv4 or IPv6 address');
  if (isIPv4(host)) {
    if (prefix !== undefined && prefix !== '32') throw bad('is a network; only a single host (/32) is allowed');
    const first = Number(host.split('.')[0]);
    if (host === '0.0.0.0' || host === '255.255.255.255' || (first >= 224 && first <= 239)) {
      throw bad('can never be the source of a peer connection');
    }
    return { address: host, family: 4 };
  }
  if (/^[0-9A-Fa-f:.]+$/.test(host) && isIPv6(host)) {
    if (prefix !== undefined && prefix !== '128') throw bad('is a network; only a single host (/128) is allowed');
    const words = ipv6Words(host);
    if (words.every((w) => w === 0) || (words[0] ?? 0) >= 0xff00)
      throw bad('can never be the source of a peer connection');
    if (words.slice(0, 5).every((w) => w === 0) && (words[5] === 0xffff || (words[5] === 0 && words[6] !== 0))) {
      throw bad('is an IPv4 address written as IPv6; give the IPv4 form');
    }
    return { address: formatIpv6(words), family: 6 };
  }
  throw bad('is not a single IPv4 or IPv6 address (hostnames are not accepted)');
}

/** A monitoring source from agent.json: one host, or a network written with its prefix length. */
export interface SourceNetwork extends HostAddress {
  /** 32 or 128 for a single host. */
  prefix: number;
}

/**
 * Reads `10.0.0.5`, `192.0.2.0/24` or `fd00::/64`; the reason in words when it is not one (host bits set,
 * /0, an IPv4 address written as IPv6), so config validation can name the bad value.
 */
export function readSourceNetwork(value: unknown): SourceNetwork | string {
  if (typeof value !== 'string' || value.length > 64) return 'must be an IPv4 or IPv6 address or network';
  const [host = '', prefixText, ...rest] = value.split('/');
  if (rest.length > 0 || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)))
    return 'must be an address, or a network such as "192.0.2.0/24"';
  let parsed: HostAddress;
  try {
    parsed = parseHostAddress(host);
  } catch (err) {
    if (!(err instanceof PgduplexError)) throw err;
    return err.message.replace(/^address "[^"]*" /, '').replace('of a peer connection', 'of a connection');
  }
  const bits = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix === 0) return 'has prefix /0, which would let everyone in';
  if (prefix > bits) return `has prefix /${prefix}; use 1..${bits}`;
  const words = parsed.family === 4 ? ipv4Words(parsed.address) : ipv6Words(parsed.address);
  const masked = words.map((w, i) => w & maskWord(prefix - i * 16));
  if (masked.some((w, i) => w !== words[i])) {
    const network = parsed.family === 4 ? ipv4Text(masked) : formatIpv6(masked);
    return `has host bits set; the network is "${network}/${prefix}"`;
  }
  return { ...parsed, prefix };
}

/** The text of a source as iptables-save prints it after -s: `10.0.0.5/32`, `192.0.2.0/24`. */
export const sourceText = (s: SourceNetwork): string => `${s.address}/${s.prefix}`;

const maskWord = (bitsLeft: number): number =>
  bitsLeft >= 16 ? 0xffff : bitsLeft <= 0 ? 0 : (0xffff << (16 - bitsLeft)) & 0xffff;
const ipv4Words = (a: string): number[] => {
  const [p = 0, q = 0, r = 0, t = 0] = a.split('.').map(Number);
  return [(p << 8) | q, (r << 8) | t];
};
const ipv4Text = (w: number[]): string => w.flatMap((x) => [x >> 8, x & 0xff]).join('.');

function ipv6Words(text: string): number[] {
  let s = text.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((h) => parseInt(h, 16));
}

/** RFC 5952 text (first longest run of two or more zero groups becomes ::), as glibc's inet_ntop prints it. */
function formatIpv6(words: number[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * One text per host for comparing a socket's peer with a stored address: IPv4-mapped IPv6 (`::ffff:10.0.0.1`,
 * as a dual-stack listener reports IPv4 clients) becomes plain IPv4, IPv6 gets RFC 5952 text; '' when not an IP.
 */
export function canonicalAddress(value: string | undefined): string {
  const text = (value ?? '').trim();
  if (isIPv4(text)) return text;
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !isIPv6(text)) return '';
  const words = ipv6Words(text);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    const [hi = 0, lo = 0] = words.slice(6);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return formatIpv6(words);
}
