import { PgduplexError } from '../../shared/errors.js';
import type { ActionOutcomes } from '../actions/outcomes.js';
import type { HealthMonitor } from '../health/monitor.js';
import type { PeerConnectionCounts } from '../peer/ws-server.js';

/** A route's answer: status and a JSON body, or a text body with its content type. */
export interface RouteResult {
  status: number;
  body: unknown;
  /** When set, `body` is a string sent as is with this content type. */
  contentType?: string;
}

/** A GET route; it sees the query string. */
export type Route = (query: URLSearchParams) => Promise<RouteResult> | RouteResult;

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** The HTTP routes, in a Map so a path can never reach a prototype property. */
export function healthRoutes(
  monitor: HealthMonitor,
  outcomes?: ActionOutcomes,
  peerConnections?: PeerConnectionCounts,
): ReadonlyMap<string, Route> {
  return new Map<string, Route>([
    ['/health', async () => ({ status: 200, body: await monitor.full() })],
    [
      '/health/live',
      () => {
        const r = monitor.live();
        return { status: r.ok ? 200 : 503, body: r };
      },
    ],
    [
      '/health/ready',
      async (query) => {
        const parsed = readyQuery(query);
        if (parsed instanceof PgduplexError) return { status: 400, body: { error: parsed.toJSON() } };
        const r = await monitor.ready(parsed.maxLagBytes);
        return { status: r.ok ? 200 : 503, body: r };
      },
    ],
    ...(outcomes
      ? [
          [
            '/metrics',
            async () => ({
              status: 200,
              contentType: PROMETHEUS_TEXT,
              body: await monitor.metrics(outcomes, peerConnections),
            }),
          ] as [string, Route],
        ]
      : []),
  ]);
}

const detailRefused = (path: string): RouteResult => ({
  status: 403,
  body: {
    error: new PgduplexError('REFUSED', `${path} is served in full only to agent.json's monitoringHosts`, {
      hint: 'add this host to "monitoringHosts" in /etc/pgduplex/agent.json, or ask the unix socket as root',
    }).toJSON(),
  },
});

/**
 * The routes for any other TCP client: liveness and readiness as a bare verdict, nothing else — no
 * versions, names, paths, lag or disk. `/health` is readiness as `{"status": "ok"}` or 503; `/metrics`
 * and a lag threshold on `/health/ready` are refused with 403.
 */
export function publicHealthRoutes(monitor: HealthMonitor): ReadonlyMap<string, Route> {
  return new Map<string, Route>([
    [
      '/health',
      async () => {
        const r = await monitor.ready();
        return r.ok ? { status: 200, body: { status: 'ok' } } : { status: 503, body: { status: 'unavailable' } };
      },
    ],
    [
      '/health/live',
      () => (monitor.live().ok ? { status: 200, body: { ok: true } } : { status: 503, body: { ok: false } }),
    ],
    [
      '/health/ready',
      async (query) => {
        const parsed = readyQuery(query);
        if (parsed instanceof PgduplexError) return { status: 400, body: { error: parsed.toJSON() } };
        if (parsed.maxLagBytes !== undefined) return detailRefused('/health/ready?max_lag_bytes');
        const r = await monitor.ready();
        return { status: r.ok ? 200 : 503, body: { ok: r.ok } };
      },
    ],
    ['/metrics', () => detailRefused('/metrics')],
  ]);
}

/** /health/ready takes only `max_lag_bytes`, a whole number; anything else is refused rather than ignored. */
export function readyQuery(query: URLSearchParams): { maxLagBytes?: number } | PgduplexError {
  const hint = 'use /health/ready or /health/ready?max_lag_bytes=N with N a whole number of bytes, e.g. 16777216';
  for (const key of query.keys()) {
    if (key !== 'max_lag_bytes')
      return new PgduplexError(
        'BAD_PARAMS',
        `unknown parameter ${JSON.stringify(key.slice(0, 40))} for /health/ready`,
        { hint },
      );
  }
  const values = query.getAll('max_lag_bytes');
  if (values.length === 0) return {};
  const v = values[0] ?? '';
  if (values.length > 1 || !/^\d{1,15}$/.test(v))
    return new PgduplexError(
      'BAD_PARAMS',
      `max_lag_bytes must be one whole number of bytes (0 or more), not ${JSON.stringify(v.slice(0, 40))}`,
      { hint },
    );
  return { maxLagBytes: Number(v) };
}
