import { PgduplexError, toPgduplexError } from '../../shared/errors.js';
import { peersListAction, whoamiAction } from '../../shared/protocol/control.js';
import { replicationErrorsAction, replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import type { ReplicationLogError, ReplicationSnapshot } from '../../shared/replication.js';
import type { Agents, Side } from '../setup/agents.js';
import type { AgentVersion } from '../versions.js';

/** One node as status saw it: its replication facts and log errors, or why they could not be read. */
export interface NodeView {
  node: string;
  /** Whether its agent answered (the local one always does, or status fails before this). */
  agentReachable: boolean;
  snapshot?: ReplicationSnapshot;
  /** Why `snapshot` is missing, in words. */
  problem?: string;
  errors: ReplicationLogError[];
}

/** Both nodes, from the point of view of the node status runs on. */
export interface PairView {
  database: string;
  local: NodeView;
  peer: NodeView;
  /** Both agents' pgduplex versions (the peer's null when it does not answer): they differ mid-upgrade. */
  versions: [AgentVersion, AgentVersion];
}

/** Reads both nodes in parallel; an unreachable peer or a stopped PostgreSQL is a fact to report, not a failure. */
export async function gatherPair(agents: Agents, database: string): Promise<PairView> {
  const [me, peers] = await Promise.all([
    agents.call('local', whoamiAction, {}),
    agents.call('local', peersListAction, {}),
  ]);
  const peer = peers[0];
  if (!peer)
    throw new PgduplexError('NOT_PAIRED', 'this node is not paired, so nothing replicates', {
      hint: 'pair the nodes (pgduplex pair --accept / pgduplex pair), then run pgduplex setup',
    });
  const [local, remote] = await Promise.all([
    readNode(agents, 'local', me.node, database),
    peer.reachable
      ? readNode(agents, 'peer', peer.node, database)
      : Promise.resolve<NodeView>({
          node: peer.node,
          agentReachable: false,
          problem: `agent unreachable (${peer.error ?? 'no answer'})`,
          errors: [],
        }),
  ]);
  const versions: [AgentVersion, AgentVersion] = [
    { node: me.node, version: me.version },
    { node: peer.node, version: peer.peerVersion ?? null },
  ];
  return { database, local, peer: remote, versions };
}

async function readNode(agents: Agents, side: Side, node: string, database: string): Promise<NodeView> {
  const [snap, errs] = await Promise.allSettled([
    agents.call(side, replicationStatusAction, { database }, { timeoutMs: 30_000 }),
    agents.call(side, replicationErrorsAction, {}, { timeoutMs: 30_000 }),
  ]);
  const errors = errs.status === 'fulfilled' ? errs.value : [];
  if (snap.status === 'fulfilled') return { node, agentReachable: true, snapshot: snap.value, errors };
  const e = toPgduplexError(snap.reason);
  const agentDown = AGENT_DOWN.has(e.code);
  if (side === 'local' && !PG_DOWN.has(e.code)) throw e;
  return {
    node,
    agentReachable: !agentDown,
    problem: agentDown
      ? `agent unreachable (${e.message})`
      : PG_DOWN.has(e.code)
        ? `PostgreSQL does not answer (${e.message})`
        : `replication state unreadable (${e.message})`,
    errors,
  };
}

const AGENT_DOWN = new Set(['AGENT_UNREACHABLE', 'TIMEOUT', 'NOT_PAIRED', 'HANDSHAKE_FAILED', 'PEER_NOT_TRUSTED']);
const PG_DOWN = new Set([
  'PG_UNREACHABLE',
  'PG_QUERY_FAILED',
  'CLUSTER_NOT_FOUND',
  'CLUSTER_AMBIGUOUS',
  'TOOL_MISSING',
]);
