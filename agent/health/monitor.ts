import type { HealthReport, PostgresHealth, ProbeResult } from '../../shared/health.js';
import { VERSION } from '../../shared/version.js';
import { probePostgres } from './postgres.js';
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
 * Answers /health, /health/live and /health/ready. Probes are single-flight and cached for `cacheMs`,
 * so a flood of requests costs at most one psql per interval.
 */
export class HealthMonitor {
  private readonly started = Date.now();
  private lastBeat = Date.now();
  private readonly beat: NodeJS.Timeout;
  private report: { at: number; value: Promise<HealthReport> } | undefined;
  private pg: { at: number; value: Promise<PostgresHealth & { dataPath: string }> } | undefined;

  constructor(private readonly opts: HealthMonitorOptions) {
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
    const pg = await this.postgres();
    return pg.ready ? { ok: true } : { ok: false, reason: pg.reason ?? 'PostgreSQL is not ready' };
  }

  async full(): Promise<HealthReport> {
    const now = Date.now();
    if (this.report && now - this.report.at < this.opts.cacheMs) return this.report.value;
    const value = this.build();
    this.report = { at: now, value };
    value.catch(() => (this.report = undefined));
    return value;
  }

  private async build(): Promise<HealthReport> {
    const { dataPath, ...postgresql } = await this.postgres();
    const system = await systemFacts(dataPath);
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

  private postgres(): Promise<PostgresHealth & { dataPath: string }> {
    const now = Date.now();
    if (this.pg && now - this.pg.at < this.opts.cacheMs) return this.pg.value;
    const value = probePostgres(this.opts.postgresql, this.opts.probeTimeoutMs).then(({ health, cluster }) => ({
      ...health,
      dataPath: cluster?.dataDir ?? '/var/lib/postgresql',
    }));
    this.pg = { at: now, value };
    return value;
  }
}
