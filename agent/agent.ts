import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from '../shared/log.js';
import { VERSION } from '../shared/version.js';
import { MAX_CALL_JSON_BYTES } from '../shared/protocol/messages.js';
import type { AgentServices } from './actions/context.js';
import { buildRegistry } from './actions/index.js';
import { syncMonitoringFirewallLogged } from './actions/monitoring-firewall.js';
import { BACKUP_ROOT } from './backup/manifest.js';
import type { AgentConfig } from './config/schema.js';
import { HealthMonitor } from './health/monitor.js';
import { listenTcp, listenUnix } from './http/listen.js';
import { monitoringAccess } from './http/monitoring-access.js';
import { healthRoutes, publicHealthRoutes } from './http/routes.js';
import { rpcRoute } from './http/rpc.js';
import { createHttpServer } from './http/server.js';
import { agentPortFirewall } from './peer/agent-port-firewall.js';
import { PeerService } from './peer/peer-service.js';
import { addressGate } from './peer/admission.js';
import { attachPeerServer, PeerConnectionCounts } from './peer/ws-server.js';
import { loadOrCreateIdentity } from './state/identity.js';
import { Journal } from './state/journal.js';
import { WatchStore } from './state/watch-store.js';
import { ClusterFollow, followedCluster } from './state/cluster-follow.js';
import { PairingWindow } from './state/pairing-window.js';
import { TrustStore } from './state/trust-store.js';

/** A running agent: what shutdown needs to stop. */
export interface RunningAgent {
  tcpAddress: { host: string; port: number };
  stop(): Promise<void>;
}

/** Starts the agent: identity and trust first (refusing loose key files), then its listeners. */
export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  const node = config.nodeName ?? hostname();
  const L = config.limits;
  const identity = await loadOrCreateIdentity(config.stateDir);
  const [trust, window, watch, follow] = await Promise.all([
    TrustStore.load(config.stateDir),
    PairingWindow.load(config.stateDir, { ttlMs: L.pairingTtlMs, maxFailures: L.pairingMaxFailures }),
    WatchStore.load(config.stateDir),
    ClusterFollow.load(config.stateDir),
  ]);
  // Read at each use: a pg-upgrade moves the node to its new cluster without a restart of the agent.
  const cluster = () => followedCluster(config.postgresql, follow.get());
  const monitor = new HealthMonitor({
    nodeName: node,
    get postgresql() {
      return cluster();
    },
    cacheMs: L.healthCacheMs,
    probeTimeoutMs: L.psqlTimeoutMs,
    peerNode: () => trust.peer?.node,
    watch: () => watch.get(),
  });
  const warmed = monitor.warm();

  // Every field is checked here; only `peers` is filled in below (it needs the registry's dispatch).
  const env: Omit<AgentServices, 'peers'> = {
    node,
    port: config.listen.port,
    identity,
    trust,
    window,
    journal: Journal.in(config.stateDir),
    watch,
    follow,
    get postgresql() {
      return cluster();
    },
    limits: {
      toolTimeoutMs: L.toolTimeoutMs,
      peerBackupIntervalMs: L.peerBackupIntervalMs,
      peerBackupsPerInterval: L.peerBackupsPerInterval,
      maxConcurrentPeerCalls: L.maxConcurrentPeerCalls,
    },
    pair: config.pair,
    backupRoot: BACKUP_ROOT,
    firewall: agentPortFirewall(config.listen.port, L.toolTimeoutMs, log.child({ component: 'firewall' })),
  };
  const services = env as AgentServices;
  const registry = buildRegistry(services);
  services.peers = new PeerService({
    ...services,
    limits: {
      handshakeTimeoutMs: L.handshakeTimeoutMs,
      maxFrameBytes: L.maxFrameBytes,
      connectTimeoutMs: L.connectTimeoutMs,
      callTimeoutMs: L.callTimeoutMs,
      heartbeatMs: L.heartbeatMs,
    },
    log: log.child({ component: 'peer' }),
    dispatch: registry.dispatch,
  });

  // A window that ended while the agent was down (or ends later) gets its agent port closed.
  services.peers.windowPort.watch();
  const rpc = rpcRoute(registry.dispatch, log);

  const peerCounts = new PeerConnectionCounts();
  const routes = healthRoutes(monitor, registry.outcomes, peerCounts);
  // Over TCP the detail is for agent.json's monitoringHosts only; the root-only socket always has it.
  const publicRoutes = publicHealthRoutes(monitor);
  const monitoring = monitoringAccess(config.monitoringHosts);
  const tcp = createHttpServer(
    (req) => (monitoring(req.socket.remoteAddress) ? routes : publicRoutes),
    L,
    log.child({ listener: 'tcp' }),
  );
  const unix = createHttpServer(routes, L, log.child({ listener: 'unix' }), {
    routes: new Map([['/v1/rpc', rpc]]),
    maxBodyBytes: MAX_CALL_JSON_BYTES,
  });
  const detachPeers = attachPeerServer(
    tcp,
    {
      maxFrameBytes: L.maxFrameBytes,
      maxPendingHandshakes: L.maxPendingHandshakes,
      maxPendingHandshakesPerAddress: L.maxPendingHandshakesPerAddress,
      helloTimeoutMs: L.helloTimeoutMs,
      heartbeatMs: L.heartbeatMs,
    },
    { gate: addressGate(trust, window), log: log.child({ component: 'peer' }), counts: peerCounts },
    (t) => services.peers.accept(t),
  );
  const servers: Server[] = [];
  try {
    // The local socket first: once /health answers, the CLI's socket answers too.
    await listenUnix(unix, config.socket);
    servers.push(unix);
    const bound = await listenTcp(tcp, config.listen.host, config.listen.port);
    if (bound !== config.listen.host)
      log.warn({ wanted: config.listen.host, bound }, 'IPv6 is not available here; listening on IPv4 only');
    servers.push(tcp);
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    monitor.close();
    throw err;
  }
  const address = tcp.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
  log.info(
    {
      version: VERSION,
      node,
      host: config.listen.host,
      port,
      socket: config.socket,
      fingerprint: identity.fingerprint,
      paired: trust.peer?.node ?? null,
    },
    'agent started',
  );
  const monitoringSynced = syncMonitoringFirewallLogged(
    services,
    config.monitoringHosts,
    log.child({ component: 'firewall' }),
  );
  void warmed.then((r) => {
    if (r.ok) log.info('PostgreSQL is ready');
    else log.warn({ reason: r.reason }, 'PostgreSQL is not ready');
  });
  return {
    tcpAddress: { host: config.listen.host, port },
    async stop() {
      await monitoringSynced;
      const cut = await registry.drain(L.stopDrainMs);
      if (cut) log.warn({ action: cut }, 'stopping with an action still running; its change may not be journaled');
      monitor.close();
      services.peers.closeAll();
      await detachPeers();
      await Promise.all([closeServer(tcp), closeServer(unix)]);
      await window.flushed();
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
