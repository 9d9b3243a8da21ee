import { isIP } from 'node:net';

/**
 * What this node lets its paired peer ask for, held by this node: the peer's own address (from pairing),
 * this node's PostgreSQL port and addresses, the pair's role, and the databases and schemas this node's
 * operator lets the pair replicate (agent.json `pair`). A peer request is checked against it before it runs.
 */
export interface PairPolicy {
  /** This node's name, as it reports it (the peer's subscription's slot here is named after it). */
  readonly node: string;
  readonly peerNode: string;
  readonly peerAddress: string;
  /** This node's own interface addresses (listen_addresses may name only these). */
  readonly addresses: readonly string[];
  readonly pgPort: number;
  readonly role: string;
  readonly databases: readonly string[];
  readonly schemas: readonly string[];
}

/** Which parameter of a peer request this node refuses, and why, in words for both operators. */
export interface PeerRefusal {
  readonly param: string;
  readonly why: string;
}

/** What a peer may ask of one action: undefined allows the request, a refusal names what is not allowed. */
export type PeerRule<P> = (params: P, pair: PairPolicy) => PeerRefusal | undefined;

/** For reads of this node's own facts (versions, settings, journal): every request is allowed. */
export const anyRequest: PeerRule<unknown> = () => undefined;

/** The first refusal of several checks, so a rule reads as a list. */
export const firstRefusal = (...checks: Array<PeerRefusal | undefined>): PeerRefusal | undefined =>
  checks.find((c) => c !== undefined);

/** Refuses `param` unless `value` is `wanted`. */
export const mustBe = (param: string, value: unknown, wanted: unknown, what: string): PeerRefusal | undefined =>
  value === wanted ? undefined : { param, why: `must be ${what} (${JSON.stringify(wanted)})` };

/** A database the pair replicates, by this node's config. */
export const pairDatabase = (param: string, database: string, pair: PairPolicy): PeerRefusal | undefined =>
  pair.databases.includes(database)
    ? undefined
    : { param, why: `${database} is not a database this node replicates (agent.json pair.databases)` };

/** A schema the pair replicates, by this node's config. */
export const pairSchema = (param: string, schema: string, pair: PairPolicy): PeerRefusal | undefined =>
  pair.schemas.includes(schema)
    ? undefined
    : { param, why: `${schema} is not a schema this node replicates (agent.json pair.schemas)` };

/** The peer's own address as pairing stored it (IPv6 compared in its canonical form). */
export const peerAddress = (param: string, address: string, pair: PairPolicy): PeerRefusal | undefined =>
  canonical(address) === canonical(pair.peerAddress)
    ? undefined
    : { param, why: `${address} is not the peer's own address ${pair.peerAddress}` };

/** An IP address in one spelling: IPv6 lower-cased and compressed as the URL parser writes it. */
export function canonical(address: string): string {
  if (isIP(address) !== 6) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

/** Every table named lies in a schema the pair replicates. */
export const tablesIn = (
  param: string,
  tables: ReadonlyArray<{ schema: string }>,
  pair: PairPolicy,
): PeerRefusal | undefined => firstRefusal(...tables.map((t) => pairSchema(param, t.schema, pair)));

/**
 * Extensions a peer may have created here before a schema import: PostgreSQL's trusted extensions that
 * a schema such as FS PBX's uses, never one that reaches files, the network or other databases.
 */
export const PEER_EXTENSIONS: ReadonlySet<string> = new Set([
  'uuid-ossp',
  'pgcrypto',
  'pg_trgm',
  'citext',
  'hstore',
  'btree_gin',
  'btree_gist',
  'unaccent',
  'fuzzystrmatch',
  'intarray',
  'ltree',
  'plpgsql',
]);

/** Only extensions from PEER_EXTENSIONS, in a schema the pair replicates. */
export const peerExtensions = (
  param: string,
  extensions: ReadonlyArray<{ name: string; schema: string }>,
  pair: PairPolicy,
): PeerRefusal | undefined =>
  firstRefusal(
    ...extensions.map((e) =>
      PEER_EXTENSIONS.has(e.name)
        ? pairSchema(param, e.schema, pair)
        : { param, why: `extension ${e.name} is not one a peer may create here (${[...PEER_EXTENSIONS].join(', ')})` },
    ),
  );

/** listen_addresses a peer may set: localhost and this node's own addresses, never a wildcard. */
export function peerListen(value: string | undefined, pair: PairPolicy): PeerRefusal | undefined {
  if (value === undefined) return undefined;
  const own = new Set(pair.addresses.map(canonical));
  const bad = value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== 'localhost' && !own.has(canonical(x)));
  return bad.length === 0
    ? undefined
    : {
        param: 'settings.listen_addresses',
        why: `${bad.join(', ')} is not localhost or an address of this node (a wildcard is never set for the peer)`,
      };
}
