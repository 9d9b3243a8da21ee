import type { PeerFirewall, PeerService } from '../peer/peer-service.js';
import type { AgentIdentity } from '../state/identity.js';
import type { PairingWindow } from '../state/pairing-window.js';
import type { Journal } from '../state/journal.js';
import type { TrustStore } from '../state/trust-store.js';
import type { WatchStore } from '../state/watch-store.js';
import type { ClusterFollow } from '../state/cluster-follow.js';

/**
 * The one environment every action is a function of: the node's identity, the services that own its
 * state, the cluster and limits from agent.json. Per-call parts (origin, logger, request id) come in the
 * call's ActionContext.
 */
export interface AgentServices {
  node: string;
  port: number;
  identity: AgentIdentity;
  trust: TrustStore;
  window: PairingWindow;
  firewall: PeerFirewall;
  journal: Journal;
  /** The cluster agent.json names, or the one a pg-upgrade moved this node to; read at each use. */
  readonly postgresql: { version: string; cluster: string } | undefined;
  /** Which cluster pg-upgrades moved this node to. */
  follow: ClusterFollow;
  /** Limits from agent.json that actions need. */
  limits: {
    toolTimeoutMs: number;
    peerBackupIntervalMs: number;
    peerBackupsPerInterval?: number;
    maxConcurrentPeerCalls?: number;
  };
  /** What this node lets its peer replicate (agent.json `pair`). */
  pair: { databases: readonly string[]; schemas: readonly string[] };
  /** The divergence watch's results this node keeps and serves. */
  watch: WatchStore;
  /** Where backups are written and read (/var/backups/pgduplex). */
  backupRoot: string;
  /** Filled in after construction: the peer service needs the registry's dispatch, and vice versa. */
  peers: PeerService;
}
