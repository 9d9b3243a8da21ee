import { networkInterfaces } from 'node:os';
import { PgduplexError } from '../../shared/errors.js';
import type { ActionContext } from '../../shared/channel/rpc.js';
import type { ActionDescriptor } from '../../shared/protocol/actions.js';
import { changeNamed } from '../../shared/protocol/catalogue.js';
import type { PairPolicy, PeerRefusal } from '../../shared/protocol/peer-policy.js';
import { REPL_ROLE } from '../../shared/replication.js';
import type { AgentServices } from '../actions/context.js';
import { peerBackupDecision } from '../backup/peer-rate.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { readServerState } from '../postgres/settings-server.js';
import type { JournalChange } from '../state/journal.js';

/** Checks a peer's request before it runs: the descriptor's rule, then what only this node's state can say. */
export type PeerGate = (d: ActionDescriptor, params: unknown, ctx: ActionContext) => Promise<void>;

/** The policy as this node holds it now: the peer from pairing, the port from its cluster, the rest from agent.json. */
async function pairPolicy(s: AgentServices): Promise<PairPolicy> {
  const peer = s.trust.peer;
  if (!peer) throw new PgduplexError('NOT_PAIRED', `${s.node} is not paired`);
  const cluster = await resolveCluster(s.postgresql).catch(() => undefined);
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
  return {
    node: s.node,
    peerNode: peer.node,
    peerAddress: peer.address,
    addresses,
    pgPort: cluster?.port ?? 0,
    role: REPL_ROLE,
    databases: s.pair.databases,
    schemas: s.pair.schemas,
  };
}

type Guard = (params: never, s: AgentServices) => Promise<PeerRefusal | undefined>;

const roleSql = `select json_build_object('exists', count(*) > 0) from pg_roles where rolname = '${REPL_ROLE}'`;

/** What the descriptors cannot know: the journal and the running server. */
const GUARDS: Record<string, Guard> = {
  'journal.undo': async ({ id }: { id: string }, s) => peerMayUndo('id', await s.journal.get(id), s),
  'pg-service.restart': async ({ restoreJournalId }: { restoreJournalId?: string }, s) => {
    const restore = restoreJournalId === undefined ? undefined : await s.journal.get(restoreJournalId);
    if (restore && restore.action !== 'pg-settings')
      return { param: 'restoreJournalId', why: `${restoreJournalId} is not a pg-settings entry` };
    const own = restore && peerMayUndo('restoreJournalId', restore, s);
    if (own) return own;
    // A server that is down may be started: that is the state it should be in anyway.
    const state = await resolveCluster(s.postgresql)
      .then((cluster) => readServerState(cluster, s.limits.toolTimeoutMs))
      .catch(() => undefined);
    return state === undefined || [...state.settings.values()].some((x) => x.pendingRestart)
      ? undefined
      : { param: '(request)', why: 'no setting pgduplex manages waits for a restart (pg_settings.pending_restart)' };
  },
  'pg-role.apply': async (_: unknown, s) => adoptsRole(s),
  'backup.apply': async (p: { database: string; schema?: string; schemaOnly?: boolean }, s) => {
    const d = await peerBackupDecision(s, p);
    return d.kind === 'refuse' ? { param: 'limits.peerBackupIntervalMs', why: d.why } : undefined;
  },
};

/**
 * The peer undoes only what its own calls made (the entry's origin, and the fingerprint it was made by), and only
 * what teardown undoes. An entry journaled before origins were recorded has none: it is judged by the second rule.
 */
export function peerMayUndo(param: string, entry: JournalChange, s: AgentServices): PeerRefusal | undefined {
  const change = changeNamed(entry.action);
  if (!change || change.teardown === 'keep')
    return {
      param,
      why: `entry ${entry.id} (${entry.action}) is kept by teardown; only this node's operator undoes it`,
    };
  if (entry.origin === 'local')
    return { param, why: `entry ${entry.id} (${entry.action}) was made by ${s.node}'s own operator, not by the peer` };
  const peer = s.trust.peer?.fingerprint;
  if (entry.origin === 'peer' && entry.peer !== undefined && entry.peer !== peer)
    return { param, why: `entry ${entry.id} (${entry.action}) was made by another peer (${entry.peer})` };
  return undefined;
}

/** The peer may use the pair's role only if pgduplex created it here: never one this node already had. */
async function adoptsRole(s: AgentServices): Promise<PeerRefusal | undefined> {
  const cluster = await resolveCluster(s.postgresql);
  const { exists } = await queryJson<{ exists: boolean }>(cluster, roleSql, { timeoutMs: s.limits.toolTimeoutMs });
  if (!exists) return undefined;
  const made = (await s.journal.list()).some(
    (e) => e.action === 'pg-role' && !e.undone && (e.undo as { created?: unknown } | null)?.created === true,
  );
  return made
    ? undefined
    : { param: 'role', why: `role ${REPL_ROLE} exists here and pgduplex did not create it; a peer may not adopt it` };
}

/** Builds the gate the registry runs on every peer request; a refusal is logged with the peer's fingerprint. */
export function peerGate(s: AgentServices): PeerGate {
  return async (d, params, ctx) => {
    const rule = d.peer;
    const refusal = rule
      ? (rule(params as never, await pairPolicy(s)) ?? (await GUARDS[d.name]?.(params as never, s)))
      : { param: '(action)', why: 'it declares nothing a peer may ask' };
    if (!refusal) return;
    ctx.log?.warn(
      { fingerprint: s.trust.peer?.fingerprint, action: d.name, param: refusal.param, why: refusal.why },
      'peer request refused',
    );
    throw new PgduplexError(
      'PEER_NOT_ALLOWED',
      `${s.node} does not let its peer ask ${d.name}: ${refusal.param} ${refusal.why}`,
      {
        hint: `the pair policy is ${s.node}'s own (agent.json "pair", pgduplex peers shows it); nothing was changed`,
      },
    );
  };
}
