import type { HealthReport, PostgresHealth, ProbeResult, SystemHealth } from '../../shared/health.js';
import type { ReplicationHealth } from '../../shared/replication.js';
import { VERSION } from '../../shared/version.js';
import type { ActionOutcomes } from '../actions/outcomes.js';
import type { PeerConnectionCounts } from '../peer/ws-server.js';
import { renderMetrics } from './metrics.js';
import type { WatchState } from '../../shared/protocol/watch.js';
import { probePostgres } from './postgres.js';
import { lagReadiness, probeReplication, replicationHealth, type ReplicationProbe } from './replication.js';
import { SwrCache } from './swr-cache.js';
import { systemFacts } from './system.js';

/** What the health monitor needs from the config; limits come from there, not from constants. */
export interface HealthMonitorOptions {
  nodeName: string;
  postgresql: { version: string; cluster: string } | undefined;
  cacheMs: number;
  probeTimeoutMs: number;
  /** How long the heartbeat may lag before /health/live says the loop is stuck. */
  liveLagMs?: number;
  /** The paired peer's name, to label directions; undefined while unpaired. */
  peerNode?: () => string | undefined;
  /** The divergence watch's last results (null before its first round). */
  watch?: () => WatchState | null;
}

/**
 * Answers /health, /health/live and /health/ready. Probes run behind a stale-while-revalidate cache,
 * so a flood of requests costs at most one psql per `cacheMs` and never waits on it.
 */
export class HealthMonitor {
  private readonly started = Date.now();
  private lastBeat = Date.now();
  private readonly beat: NodeJS.Timeout;
  private readonly pg: SwrCache<PostgresHealth & { dataPath: string }>;
  private readonly system: SwrCache<SystemHealth>;
  private readonly repl: SwrCache<ReplicationProbe>;

  constructor(private readonly opts: HealthMonitorOptions) {
    const maxStaleMs = Math.max(opts.cacheMs * 5, 5000);
    this.pg = new SwrCache(() => this.probe(), opts.cacheMs, maxStaleMs);
    this.system = new SwrCache(async () => systemFacts((await this.pg.get()).dataPath), opts.cacheMs, maxStaleMs);
    this.repl = new SwrCache(() => probeReplication(opts.postgresql, opts.probeTimeoutMs), opts.cacheMs, maxStaleMs);
    this.beat = setInterval(() => (this.lastBeat = Date.now()), 500);
    this.beat.unref();
  }

  /** Starts the first probes at once, so the first /health after a start does not pay for them. */
  warm(): Promise<ProbeResult> {
    this.system.get().catch(() => undefined);
    return this.ready();
  }

  /** Stops the heartbeat so shutdown leaves no timers behind. */
  close(): void {
    clearInterval(this.beat);
  }

  live(): ProbeResult {
    const lag = Date.now() - this.lastBeat;
    const limit = this.opts.liveLagMs ?? 5000;
    return lag <= limit ? { ok: true } : { ok: false, reason: `agent event loop stalled for ${lag} ms` };
  }

  /** Ready when PostgreSQL answers and, when `maxLagBytes` is given, no slot of this node lags by more. */
  async ready(maxLagBytes?: number): Promise<ProbeResult> {
    // A load balancer acts on this answer: it never comes from a probe older than the cache time.
    const pg = await this.pg.getFresh(this.opts.cacheMs);
    if (!pg.ready) return { ok: false, reason: pg.reason ?? 'PostgreSQL is not ready' };
    if (maxLagBytes === undefined) return { ok: true };
    const reason = lagReadiness(
      replicationHealth(await this.repl.getFresh(this.opts.cacheMs), this.opts.peerNode?.()),
      maxLagBytes,
    );
    return reason === undefined ? { ok: true } : { ok: false, reason };
  }

  /** pgduplex's subscriptions and slots on this node, from the same cache /metrics reads. */
  async replication(): Promise<ReplicationHealth> {
    return replicationHealth(await this.repl.get(), this.opts.peerNode?.());
  }

  /** The Prometheus text: cached health facts and the actions' last outcomes, no query of its own. */
  async metrics(outcomes: ActionOutcomes, peerConnections?: PeerConnectionCounts): Promise<string> {
    const [pg, replication] = await Promise.all([this.pg.get(), this.replication()]);
    return renderMetrics({
      version: VERSION,
      node: this.opts.nodeName,
      postgresUp: pg.ready,
      probeAgeSeconds: ageSeconds(pg.checkedAt),
      replication,
      outcomes: outcomes.list(),
      ...(peerConnections ? { peerConnections: { ...peerConnections } } : {}),
      watch: this.opts.watch?.() ?? null,
    });
  }

  /** The full report; its PostgreSQL part is the same cached probe /health/ready answers from. */
  async full(): Promise<HealthReport> {
    const [{ dataPath: _, ...postgresql }, system, replication] = await Promise.all([
      this.pg.get(),
      this.system.get(),
      this.replication(),
    ]);
    return {
      agent: {
        version: VERSION,
        node: this.opts.nodeName,
        uptimeSeconds: Math.round((Date.now() - this.started) / 100) / 10,
        pid: process.pid,
      },
      postgresql: { ...postgresql, ageSeconds: ageSeconds(postgresql.checkedAt) },
      system,
      replication,
    };
  }

  private async probe(): Promise<PostgresHealth & { dataPath: string }> {
    const { health, cluster } = await probePostgres(this.opts.postgresql, this.opts.probeTimeoutMs);
    return { ...health, dataPath: cluster?.dataDir ?? '/var/lib/postgresql' };
  }
}

/** How old a cached probe is, for the answers that may serve one a little stale (/health, /metrics). */
const ageSeconds = (checkedAt: string): number =>
  Math.max(0, Math.round((Date.now() - Date.parse(checkedAt)) / 100) / 10);
