import type { HealthMonitor } from '../health/monitor.js';

/** A route's answer: status and a JSON body. */
export interface RouteResult {
  status: number;
  body: unknown;
}

type Route = () => Promise<RouteResult> | RouteResult;

/** The HTTP routes, in a Map so a path can never reach a prototype property. */
export function healthRoutes(monitor: HealthMonitor): ReadonlyMap<string, Route> {
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
      async () => {
        const r = await monitor.ready();
        return { status: r.ok ? 200 : 503, body: r };
      },
    ],
  ]);
}
