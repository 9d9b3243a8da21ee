// Runs inside a lab node: GET a URL at a fixed rate over keep-alive and print latency percentiles as JSON.
import { Agent, request } from 'node:http';

const [url, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 200);
const seconds = Number(secondsArg ?? 10);
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const target = new URL(url ?? 'http://127.0.0.1:7740/health');
const latencies = [];
let errors = 0;
let non200 = 0;

function once() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.statusCode !== 200) non200++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

const total = rate * seconds;
const started = performance.now();
const pending = [];
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push(once());
}
await Promise.all(pending);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? null;
console.log(
  JSON.stringify({
    requests: total,
    achievedRate: total / elapsed,
    errors,
    non200,
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    maxMs: latencies.at(-1) ?? null,
  }),
);
agent.destroy();
