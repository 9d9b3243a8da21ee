// `npm run bench`: the skeleton's speed and memory figures, measured in the lab, written as JSON.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { labDown, labUp, nodeExec } from '../test/lab/index.js';
import { debPath } from '../test/lab/paths.js';

const TARGETS = { idleRssMb: 60, coldStartMs: 500, p99Ms: 5 };
const RUNS = 5;

async function runInside(script: string, args: string[]): Promise<Record<string, number>> {
  const path = `/tmp/${script}`;
  await nodeExec('a', ['tee', path], { input: readFileSync(`bench/inside/${script}`) });
  const r = await nodeExec('a', ['node', path, ...args], { timeoutMs: 300_000 });
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
}

async function rssMb(): Promise<number> {
  const pid = (await nodeExec('a', ['systemctl', 'show', '-p', 'MainPID', '--value', 'pgduplex-agent'])).stdout.trim();
  const status = (await nodeExec('a', ['cat', `/proc/${pid}/status`])).stdout;
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** RSS of an idle `node` with nothing loaded on the same node: what no Node program can go below. */
async function bareNodeRssMb(): Promise<number> {
  const script =
    "setTimeout(() => { const s = require('fs').readFileSync('/proc/self/status', 'utf8'); console.log(/VmRSS:\\s+(\\d+)/.exec(s)[1]); }, 3000)";
  const r = await nodeExec('a', ['node', '-e', script]);
  return Math.round((Number(r.stdout.trim()) / 1024) * 10) / 10;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'inherit' });
const deb = debPath();
await labUp({ deb });
try {
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) cold.push((await runInside('cold-start.mjs', []))['coldStartMs'] ?? NaN);
  console.log('waiting 30 s for the agent to idle…');
  await new Promise((r) => setTimeout(r, 30_000));
  const idleRss = await rssMb();
  const baselineRss = await bareNodeRssMb();
  // /health/live does no work: its latency is the floor this machine and load generator allow.
  const floor = await runInside('health-load.mjs', ['http://127.0.0.1:7740/health/live', '200', '15']);
  const load = await runInside('health-load.mjs', ['http://127.0.0.1:7740/health', '200', '15']);
  const rssAfterLoad = await rssMb();
  const results = {
    measuredAt: new Date().toISOString(),
    where: 'lab node a (Debian 13, systemd, PostgreSQL 17), agent from the .deb under its unit',
    debSizeBytes: statSync(deb).size,
    coldStartMs: { median: median(cold), runs: cold, target: TARGETS.coldStartMs },
    idleRssMb: { after30s: idleRss, afterLoad: rssAfterLoad, bareNode: baselineRss, target: TARGETS.idleRssMb },
    health: { ratePerSecond: 200, ...load, targetP99Ms: TARGETS.p99Ms },
    healthLiveFloor: { ratePerSecond: 200, ...floor },
    ratios: {
      rssOverBareNode: Math.round((idleRss / baselineRss) * 100) / 100,
      healthP99OverLiveP99: Math.round(((load['p99Ms'] ?? NaN) / (floor['p99Ms'] ?? NaN)) * 100) / 100,
    },
    meetsTargets: {
      idleRss: idleRss <= TARGETS.idleRssMb,
      coldStart: median(cold) <= TARGETS.coldStartMs,
      p99: (load['p99Ms'] ?? Infinity) <= TARGETS.p99Ms,
    },
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/skeleton.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
} finally {
  await labDown();
}
