import { PUBLICATION, REPL_ROLE, subscriptionName } from '../../shared/replication.js';
import type { Side } from './agents.js';

export { PUBLICATION, REPL_ROLE, subscriptionName };

/** What setup knows about the two nodes before it plans. */
export interface PairFacts {
  database: string;
  source: { side: Side; node: string; address: string };
  target: { side: Side; node: string; address: string };
  pgPort: number;
}

/** One state-changing step: an agent action with its params, run as check then apply. */
export interface ChangeStep {
  readonly side: Side;
  readonly node: string;
  readonly action: string;
  readonly params: unknown;
}

/**
 * Settings the pair needs: logical WAL, commit timestamps, a cap on WAL a dead peer can hold, and a TCP
 * timeout so that a walsender writing to a peer cut off by the network dies within a minute: until it
 * does, the checkpointer waits on it and the cap is not enforced (about 15 minutes of TCP retries).
 */
export const PAIR_SETTINGS = {
  wal_level: 'logical',
  track_commit_timestamp: 'on',
  max_slot_wal_keep_size: '10GB',
  tcp_user_timeout: '60s',
} as const;

const UNITS: Record<string, number> = { MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * Bytes of a max_slot_wal_keep_size such as 512MB or 10GB (at least one 16 MB WAL segment); undefined if it is not
 * one.
 */
export function walKeepBytes(value: string): number | undefined {
  const m = /^([1-9][0-9]{0,6})(MB|GB|TB)$/.exec(value);
  const bytes = m ? Number(m[1]) * UNITS[m[2]!]! : 0;
  return bytes >= 16 * 1024 ** 2 ? bytes : undefined;
}

/**
 * listen_addresses that also covers `address` (how the peer reaches this node), or undefined when the
 * current value already does: '*' covers all, 0.0.0.0 every IPv4 and :: every IPv6 address.
 */
export function listenCovering(current: string, address: string): string | undefined {
  const list = current
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const wildcard = address.includes(':') ? '::' : '0.0.0.0';
  if (list.some((x) => x === '*' || x === wildcard || x === address)) return undefined;
  return [...list, address].join(',');
}

/**
 * The listen_addresses pgduplex sets on a node, decided on what the configuration gives without
 * pgduplex's own drop-in (`base`): the running value holds what an earlier run set, and deciding on
 * it would take the address away again on every second run.
 */
export function listenFor(
  setting: { value: string; base?: string | undefined } | undefined,
  address: string,
): string | undefined {
  return listenCovering(setting?.base ?? setting?.value ?? 'localhost', address);
}

/** Per node: its firewall opening for the other node's PostgreSQL, its settings, its pg_hba block. */
export function configureSteps(
  f: PairFacts,
  listen: Partial<Record<Side, string>> = {},
  walKeep: string = PAIR_SETTINGS.max_slot_wal_keep_size,
  idleSlotTimeout?: string,
): ChangeStep[] {
  return [f.source, f.target].flatMap((n) => {
    const other = n === f.source ? f.target : f.source;
    const extra = {
      ...(listen[n.side] ? { listen_addresses: listen[n.side] } : {}),
      ...(idleSlotTimeout ? { idle_replication_slot_timeout: idleSlotTimeout } : {}),
    };
    return [
      {
        side: n.side,
        node: n.node,
        action: 'firewall',
        params: { peer: other.address, ports: [{ port: f.pgPort, purpose: 'postgresql' }] },
      },
      {
        side: n.side,
        node: n.node,
        action: 'pg-settings',
        params: { settings: { ...PAIR_SETTINGS, max_slot_wal_keep_size: walKeep, ...extra } },
      },
      {
        side: n.side,
        node: n.node,
        action: 'pg-hba',
        params: { peer: other.address, role: REPL_ROLE, database: f.database },
      },
    ];
  });
}

/** Credentials: the role on both nodes and, on each, the passfile line for reaching the other. */
export function credentialSteps(f: PairFacts, password: string): ChangeStep[] {
  return [f.source, f.target].flatMap((n) => {
    const other = n === f.source ? f.target : f.source;
    return [
      {
        side: n.side,
        node: n.node,
        action: 'pg-role',
        params: { role: REPL_ROLE, password, grantSelectOn: { database: f.database, schema: 'public' } },
      },
      {
        side: n.side,
        node: n.node,
        action: 'pg-passfile',
        params: { host: other.address, port: f.pgPort, database: f.database, user: REPL_ROLE, password },
      },
    ];
  });
}

/** The extensions the source's schema needs, on the target as the source has them. */
export function extensionStep(
  f: PairFacts,
  extensions: ReadonlyArray<{ name: string; schema: string; version: string }>,
): ChangeStep {
  return {
    side: f.target.side,
    node: f.target.node,
    action: 'extensions',
    params: { database: f.database, extensions },
  };
}

/** Disjoint keys: the source takes the odd values; the target's turn comes after the copy (see below). */
export function sequenceStep(f: PairFacts, n: PairFacts['source'], slot: 1 | 2): ChangeStep {
  return { side: n.side, node: n.node, action: 'sequences', params: { database: f.database, step: 2, slot } };
}

/** A publication on each node. */
export function publishSteps(
  f: PairFacts,
  tables: { all: true } | { list: Array<{ schema: string; name: string }> },
): ChangeStep[] {
  return [
    {
      side: f.source.side,
      node: f.source.node,
      action: 'publication',
      params: { database: f.database, name: PUBLICATION, tables },
    },
    {
      side: f.target.side,
      node: f.target.node,
      action: 'publication',
      params: { database: f.database, name: PUBLICATION, tables },
    },
  ];
}

/** The subscription on `on` reading from `from`; only the target's first one copies data. */
export function subscriptionStep(
  f: PairFacts,
  on: PairFacts['source'],
  from: PairFacts['source'],
  copyData: boolean,
  binary = false,
): ChangeStep {
  return {
    side: on.side,
    node: on.node,
    action: 'subscription',
    params: {
      database: f.database,
      name: subscriptionName(from.node),
      publication: PUBLICATION,
      peer: { host: from.address, port: f.pgPort, database: f.database, user: REPL_ROLE },
      options: { origin: 'none', copyData, binary, streaming: 'parallel' },
    },
  };
}

/** A node's sequences as sequences.status lists them. */
type Seq = { increment: number; next: number };

/**
 * Which residue each node's sequences take: the source odd and the target even, unless the pair already hands out
 * the other way round (set up from the other node): a run from either node then moves no sequence.
 */
export function sequenceSlots(source: readonly Seq[], target: readonly Seq[]): { source: 1 | 2; target: 1 | 2 } {
  const all = (qs: readonly Seq[], residue: number) => {
    const stepped = qs.filter((q) => q.increment === 2);
    return stepped.length > 0 && stepped.every((q) => ((q.next % 2) + 2) % 2 === residue);
  };
  return all(source, 0) && all(target, 1) ? { source: 2, target: 1 } : { source: 1, target: 2 };
}
