import { PgduplexError } from '../../shared/errors.js';
import { whoamiAction } from '../../shared/protocol/control.js';
import { journalListAction, journalUndoAction, type JournalEntryView } from '../../shared/protocol/journal.js';
import type { Agents, Side } from '../setup/agents.js';
import type { Report } from '../setup/runner.js';

/** One node's journal as undo sees it: the entries not undone yet, or why the node did not answer. */
export interface NodeJournal {
  node: string;
  side: Side;
  entries: JournalEntryView[];
  unreachable?: string;
}

/** What `pgduplex undo ID` did: the entry, where it was, and the agent's lines of what it restored. */
export interface UndoResult {
  node: string;
  entry: JournalEntryView;
  dryRun: boolean;
  undone: string[];
}

/** Reads the pending entries of this node's journal and (when paired and answering) the peer's. */
export async function pendingJournals(agents: Agents): Promise<NodeJournal[]> {
  const me = await agents.call('local', whoamiAction, {});
  const local = {
    node: me.node,
    side: 'local' as const,
    entries: await agents.call('local', journalListAction, { pending: true }),
  };
  if (!me.peerAddress) return [local];
  try {
    const [peer, entries] = await Promise.all([
      agents.call('peer', whoamiAction, {}),
      agents.call('peer', journalListAction, { pending: true }),
    ]);
    return [local, { node: peer.node, side: 'peer', entries }];
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return [local, { node: 'peer', side: 'peer', entries: [], unreachable: why }];
  }
}

/** The node holding entry `id`, limited to `only` (a node name) when given; a clear error when none does. */
export function findEntry(
  journals: readonly NodeJournal[],
  id: string,
  only?: string,
): NodeJournal & { entry: JournalEntryView } {
  const names = journals.map((j) => j.node);
  if (only !== undefined && !names.includes(only))
    throw new PgduplexError('USAGE', `--node ${JSON.stringify(only)} is neither ${names.join(' nor ')}`, {
      hint: 'give a node by its name, as pgduplex whoami prints it',
    });
  for (const j of journals) {
    const entry = j.entries.find((e) => e.id === id);
    if (entry && (only === undefined || j.node === only)) return { ...j, entry };
  }
  const down = journals.filter((j) => j.unreachable);
  throw new PgduplexError(
    'NOT_FOUND',
    `no journal entry ${JSON.stringify(id.slice(0, 64))} waiting to be undone on ${only ?? names.join(' or ')}` +
      (down.length > 0 ? ` (the peer did not answer: ${down.map((j) => j.unreachable).join('; ')})` : ''),
    { hint: 'it may be undone already; pgduplex undo --list shows what can be undone' },
  );
}

/** Lists the pending entries of both journals as task lines, newest last. */
export function reportPending(journals: readonly NodeJournal[], report: Report): void {
  for (const j of journals) {
    if (j.unreachable) report('note', j.node, `its journal could not be read: ${j.unreachable}`);
    else if (j.entries.length === 0) report('ok', j.node, 'nothing to undo');
    for (const e of j.entries)
      report(e.interrupted ? 'partial' : 'pending', j.node, `${e.id} ${e.at} ${e.action}: ${e.changes.join('; ')}`);
  }
}

/**
 * Undoes one journaled change on the node that made it (found in both journals unless `node` names one): lists
 * what it changed, asks (or needs `yes`), then has that node's agent undo it; `dryRun` changes nothing.
 */
export async function undoEntry(
  agents: Agents,
  o: {
    id: string;
    node?: string;
    dryRun: boolean;
    yes: boolean;
    report: Report;
    confirm?: (question: string) => Promise<boolean>;
  },
): Promise<UndoResult> {
  const hit = findEntry(await pendingJournals(agents), o.id, o.node);
  const { entry } = hit;
  for (const c of entry.changes) o.report('would', hit.node, `undo ${entry.action} (${entry.at}): ${c}`);
  if (entry.interrupted)
    o.report('note', hit.node, `${entry.id} was interrupted: its undo takes back whatever part of it was made`);
  if (o.dryRun) {
    o.report('note', hit.node, 'dry run: nothing was changed');
    return { node: hit.node, entry, dryRun: true, undone: [] };
  }
  const question = `undo ${entry.action} ${entry.id} on ${hit.node} (${entry.changes.length} changes)?`;
  if (!o.yes && !(o.confirm && (await o.confirm(question)))) {
    const why = o.confirm ? 'was not confirmed' : 'needs confirmation and there is no terminal to ask on';
    throw new PgduplexError('NOT_CONFIRMED', `the undo of ${entry.id} on ${hit.node} ${why}`, {
      hint: 'nothing was changed; re-run with --yes (or --dry-run to list what it would take back)',
    });
  }
  const r = await agents.call(hit.side, journalUndoAction, { id: entry.id }, { timeoutMs: 300_000 }).catch((err) => {
    // The peer undoes only what the peer's own calls made: the rest is for its own operator.
    if (hit.side === 'peer' && err instanceof PgduplexError && err.code === 'PEER_NOT_ALLOWED')
      throw new PgduplexError(err.code, err.message, { hint: `run pgduplex undo ${entry.id} on ${hit.node} itself` });
    throw err;
  });
  for (const line of r.undone) o.report('changed', hit.node, line);
  return { node: hit.node, entry, dryRun: false, undone: r.undone };
}
