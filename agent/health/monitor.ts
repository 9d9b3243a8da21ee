import type { HealthReport, PostgresHealth, ProbeResult } from '../../shared/health.js';
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
  private readonly report: SwrCache<HealthReport>;
  private readonly pg: SwrCache<PostgresHealth & { dataPath: string }>;

  constructor(private readonly opts: HealthMonitorOptions) {
    const maxStaleMs = Math.max(opts.cacheMs * 5, 5000);
    this.pg = new SwrCache(() => this.probe(), opts.cacheMs, maxStaleMs);
    this.report = new SwrCache(() => this.build(), opts.cacheMs, maxStaleMs);
    this.beat = setInterval(() => (this.lastBeat = Date.now()), 500);
    this.beat.unref();
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

  async full(): Promise<HealthReport> {
    const report = await this.report.get();
    return { ...report, agent: { ...report.agent, uptimeSeconds: this.uptimeSeconds() } };
  }

  private uptimeSeconds(): number {
    return Math.round((Date.now() - this.started) / 100) / 10;
  }

  private async build(): Promise<HealthReport> {
    const { dataPath, ...postgresql } = await this.pg.get();
    const system = await systemFacts(dataPath);
    return {
      agent: {
        version: VERSION,
        node: this.opts.nodeName,
        uptimeSeconds: this.uptimeSeconds(),
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
