import { toPgduplexError } from '../../shared/errors.js';
import {
  conflictsAdvanceAction,
  conflictsReadAction,
  rowsByKeyAction,
  type SubscriptionConflicts,
} from '../../shared/protocol/conflicts.js';
import type { RowKey } from '../../shared/protocol/rows.js';
import type { Agents, Side } from '../setup/agents.js';
import { pairFacts } from '../setup/gather.js';
import { drained } from '../setup/settled.js';
import { subscriptionName, type PairFacts } from '../setup/steps.js';
import { pairSlots } from '../setup/settled.js';
import { parseKey } from './remedy.js';

/** One row a conflict named that differs on the two nodes after the lag drained: the direction it arrived by. */
export interface ConflictFinding {
  from: string;
  to: string;
  table: string;
  key: string;
  types: string[];
  /** Each node's row: whether it has one and when it was committed (null: track_commit_timestamp has no time). */
  rows: Array<{ node: string; present: boolean; committedAt: string | null }>;
}

/** What status made of the conflict counters: the rows that differ, how many were equal, and notes in words. */
export interface ConflictCheck {
  diverging: ConflictFinding[];
  equal: number;
  notes: string[];
}

interface Candidate {
  node: { side: Side; node: string };
  peerNode: string;
  sub: SubscriptionConflicts;
  keys: Map<string, { table: string; key: string; values: RowKey; columns: string[]; types: Set<string> }>;
  unreadable: number;
}

/** How long status waits for the lag between the nodes to drain before it compares the rows a conflict named. */
const DRAIN_MS = 30_000;

/**
 * Turns PostgreSQL 18's conflict counters into facts: for each subscription whose counters rose over the baseline
 * its agent keeps, the keys its server log names are compared on both nodes after the lag drained (twice, so a
 * write in flight never counts); a row that differs is a finding, and a subscription whose rows are all equal has
 * its baseline advanced. Never throws: what it could not do is a note.
 */
export async function checkConflicts(agents: Agents, database: string): Promise<ConflictCheck> {
  const out: ConflictCheck = { diverging: [], equal: 0, notes: [] };
  try {
    const f = await pairFacts(agents, database, 'local');
    const nodes = [f.source, f.target];
    const reads = await Promise.all(nodes.map((n) => agents.call(n.side, conflictsReadAction, { database })));
    const candidates: Candidate[] = [];
    const without: string[] = [];
    reads.forEach((r, i) => {
      const n = nodes[i]!;
      const other = nodes[1 - i]!.node;
      if (!r.supported) return void without.push(`${n.node} runs PostgreSQL ${Math.floor(r.serverVersionNum / 10000)}`);
      const sub = r.subscriptions.find((x) => x.subscription === subscriptionName(other) && x.risen.length > 0);
      if (sub) candidates.push(candidateOf({ side: n.side, node: n.node }, other, sub));
    });
    if (without.length > 0)
      out.notes.push(
        `conflict counters: n/a (${without.join(', ')}, which counts no conflicts before 18); rows that differ are ` +
          `found by the divergence watch (pgduplex watch)`,
      );
    for (const c of candidates) await settleCandidate(agents, f, database, c, out);
  } catch (err) {
    const e = toPgduplexError(err);
    out.notes.push(
      e.code === 'UNKNOWN_ACTION'
        ? 'conflict counters: not checked (an agent of the pair predates the check; upgrade it)'
        : `conflict counters: not checked (${e.message})`,
    );
  }
  return out;
}

function candidateOf(node: Candidate['node'], peerNode: string, sub: SubscriptionConflicts): Candidate {
  const c: Candidate = { node, peerNode, sub, keys: new Map(), unreadable: 0 };
  for (const l of sub.lines) {
    const parsed = l.key === null ? 'no key' : parseKey(l.key);
    if (typeof parsed === 'string') {
      c.unreadable++;
      continue;
    }
    const id = `${l.table}|${l.key}`;
    const known = c.keys.get(id);
    if (known) known.types.add(l.type);
    else
      c.keys.set(id, {
        table: l.table,
        key: l.key ?? '',
        columns: parsed.map(([col]) => col),
        values: parsed.map(([, v]) => v),
        types: new Set([l.type]),
      });
  }
  return c;
}

async function readRows(agents: Agents, f: PairFacts, database: string, table: string, keys: RowKey[]) {
  const [schema, name] = table.includes('.') ? (table.split('.') as [string, string]) : ['public', table];
  const p = { database, schema, table: name, keys };
  return Promise.all([agents.call(f.source.side, rowsByKeyAction, p), agents.call(f.target.side, rowsByKeyAction, p)]);
}

async function differing(agents: Agents, f: PairFacts, database: string, c: Candidate) {
  const byTable = new Map<string, Array<typeof c.keys extends Map<string, infer V> ? V : never>>();
  for (const k of c.keys.values()) byTable.set(k.table, [...(byTable.get(k.table) ?? []), k]);
  const found = new Map<string, { hashes: string; finding: ConflictFinding }>();
  for (const [table, keys] of byTable) {
    const [a, b] = await readRows(
      agents,
      f,
      database,
      table,
      keys.slice(0, MAX_KEYS).map((k) => k.values),
    );
    keys.slice(0, MAX_KEYS).forEach((k, i) => {
      const ra = a.rows[i]!;
      const rb = b.rows[i]!;
      if (JSON.stringify(a.columns) !== JSON.stringify(k.columns)) return;
      if (ra.hash === rb.hash) return;
      found.set(`${table}|${k.key}`, {
        hashes: `${ra.hash}|${rb.hash}`,
        finding: {
          from: c.peerNode,
          to: c.node.node,
          table,
          key: k.key,
          types: [...k.types].sort(),
          rows: [
            { node: f.source.node, present: ra.hash !== null, committedAt: ra.committedAt },
            { node: f.target.node, present: rb.hash !== null, committedAt: rb.committedAt },
          ],
        },
      });
    });
  }
  return found;
}

async function settleCandidate(agents: Agents, f: PairFacts, database: string, c: Candidate, out: ConflictCheck) {
  if (c.keys.size === 0) {
    out.notes.push(
      `${c.node.node}: ${c.sub.subscription} counted conflicts (${c.sub.risen.join(', ')}) but its server log no ` +
        `longer names ${c.unreadable > 0 ? 'keys pgduplex can read' : 'the rows'}; the divergence watch compares ` +
        `the tables (pgduplex watch, or pgduplex verify --table T)`,
    );
    await advance(agents, database, c);
    return;
  }
  await drained(agents, f, pairSlots(f), DRAIN_MS);
  const first = await differing(agents, f, database, c);
  let settled = first;
  if (first.size > 0) {
    await drained(agents, f, pairSlots(f), DRAIN_MS);
    const second = await differing(agents, f, database, c);
    settled = new Map([...first].filter(([id, v]) => second.get(id)?.hashes === v.hashes));
  }
  out.diverging.push(...[...settled.values()].map((v) => v.finding));
  out.equal += Math.min(c.keys.size, compared(c)) - settled.size;
  const more = [...new Set([...c.keys.values()].map((k) => k.table))].filter((t) => tableKeys(c, t) > MAX_KEYS);
  for (const t of more)
    out.notes.push(
      `${c.node.node}: conflicts named more than ${MAX_KEYS} rows of ${t}; the first ${MAX_KEYS} were compared ` +
        `(pgduplex verify --table ${t} compares them all)`,
    );
  if (settled.size === 0 && more.length === 0) await advance(agents, database, c);
}

/** At most this many keys per table are compared in one status run (rows.hashes takes 100). */
const MAX_KEYS = 100;
const tableKeys = (c: Candidate, t: string) => [...c.keys.values()].filter((k) => k.table === t).length;
const compared = (c: Candidate) =>
  [...new Set([...c.keys.values()].map((k) => k.table))].reduce((n, t) => n + Math.min(tableKeys(c, t), MAX_KEYS), 0);

const advance = (agents: Agents, database: string, c: Candidate) =>
  agents.call(c.node.side, conflictsAdvanceAction, {
    database,
    subscription: c.sub.subscription,
    counters: c.sub.counters,
    statsReset: c.sub.statsReset,
  });
