// Runs inside lab node a: calls `peer.call ping` through the local agent's socket at a steady pace
// for a while (CLI -> agent a -> paired session -> agent b) and prints latencies and failures.
import { request } from 'node:http';

/** Latencies of the calls that succeeded, and the error code of each one that did not. */
export interface RpcLoopReport {
  calls: number;
  ok: number;
  failures: Record<string, number>;
  ms: { p50: number; p90: number; p99: number; max: number };
}

const [seconds = 30, perSecond = 20] = process.argv.slice(2).map(Number);
const body = JSON.stringify({ action: 'peer.call', params: { action: 'ping', params: {} } });

function call(): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      {
        socketPath: '/run/pgduplex/agent.sock',
        path: '/v1/rpc',
        method: 'POST',
        timeout: 30_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            const answer = JSON.parse(text.trim().split('\n').at(-1) ?? '') as {
              ok: boolean;
              result?: { node?: string };
              error?: { code: string };
            };
            resolve(answer.ok && answer.result?.node === 'b' ? 'ok' : (answer.error?.code ?? 'WRONG_ANSWER'));
          } catch {
            resolve('NOT_JSON');
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.message === 'timeout' ? 'CLIENT_TIMEOUT' : (err.code ?? 'SOCKET_ERROR')),
    );
    req.end(body);
  });
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const latencies: number[] = [];
const report: RpcLoopReport = { calls: 0, ok: 0, failures: {}, ms: { p50: NaN, p90: NaN, p99: NaN, max: NaN } };
const start = performance.now();
const gap = 1000 / perSecond;
while (performance.now() - start < seconds * 1000) {
  const t = performance.now();
  const outcome = await call();
  const took = performance.now() - t;
  report.calls += 1;
  if (outcome === 'ok') {
    report.ok += 1;
    latencies.push(took);
  } else report.failures[outcome] = (report.failures[outcome] ?? 0) + 1;
  await new Promise((r) => setTimeout(r, Math.max(0, gap - took)));
}
latencies.sort((a, b) => a - b);
const round = (x: number) => Math.round(x * 100) / 100;
report.ms = {
  p50: round(pct(latencies, 50)),
  p90: round(pct(latencies, 90)),
  p99: round(pct(latencies, 99)),
  max: round(latencies.at(-1) ?? NaN),
};
console.log(JSON.stringify(report));
process.exit(0);
