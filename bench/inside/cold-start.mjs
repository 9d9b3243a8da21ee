// Runs inside a lab node: start the agent unit and time until /health first answers 200.
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';

function get() {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: 7740, path: '/health', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

execFileSync('systemctl', ['stop', 'pgduplex-agent']);
// Repeated runs would otherwise trip the unit's start rate limit (5 starts in 10 s).
execFileSync('systemctl', ['reset-failed', 'pgduplex-agent']);
const t0 = performance.now();
execFileSync('systemctl', ['start', 'pgduplex-agent']);
let status = 0;
while (status !== 200) {
  status = await get();
  if (status !== 200) await new Promise((r) => setTimeout(r, 2));
  if (performance.now() - t0 > 20_000) throw new Error('agent did not answer within 20 s');
}
console.log(JSON.stringify({ coldStartMs: performance.now() - t0 }));
