import type { PeerFirewall, PeerService } from '../peer/peer-service.js';
import type { AgentIdentity } from '../state/identity.js';
import type { PairingWindow } from '../state/pairing-window.js';
import type { Journal } from '../state/journal.js';
import type { TrustStore } from '../state/trust-store.js';

/** What action handlers may use: the node's identity and the services that own its state. */
export interface AgentServices {
  node: string;
  port: number;
  identity: AgentIdentity;
  trust: TrustStore;
  window: PairingWindow;
  firewall: PeerFirewall;
  journal: Journal;
  /** The cluster agent.json names, if it names one. */
  postgresql: { version: string; cluster: string } | undefined;
  /** Limits from agent.json that actions need. */
  limits: { toolTimeoutMs: number };
  /** Filled in after construction: the peer service needs the registry's dispatch, and vice versa. */
  peers: PeerService;
}
