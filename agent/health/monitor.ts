import type { HealthReport, PostgresHealth, ProbeResult, SystemHealth } from '../../shared/health.js';
import { VERSION } from '../../shared/version.js';
import { probePostgres } from './postgres.js';
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

  constructor(private readonly opts: HealthMonitorOptions) {
    const maxStaleMs = Math.max(opts.cacheMs * 5, 5000);
    this.pg = new SwrCache(() => this.probe(), opts.cacheMs, maxStaleMs);
    this.system = new SwrCache(async () => systemFacts((await this.pg.get()).dataPath), opts.cacheMs, maxStaleMs);
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

  async ready(): Promise<ProbeResult> {
    const pg = await this.pg.get();
    return pg.ready ? { ok: true } : { ok: false, reason: pg.reason ?? 'PostgreSQL is not ready' };
  }

  /** The full report; its PostgreSQL part is the same cached probe /health/ready answers from. */
  async full(): Promise<HealthReport> {
    const [{ dataPath: _, ...postgresql }, system] = await Promise.all([this.pg.get(), this.system.get()]);
    return {
      agent: {
        version: VERSION,
        node: this.opts.nodeName,
        uptimeSeconds: Math.round((Date.now() - this.started) / 100) / 10,
        pid: process.pid,
      },
      postgresql,
      system,
    };
  }

  private async probe(): Promise<PostgresHealth & { dataPath: string }> {
    const { health, cluster } = await probePostgres(this.opts.postgresql, this.opts.probeTimeoutMs);
    return { ...health, dataPath: cluster?.dataDir ?? '/var/lib/postgresql' };
  }
}
