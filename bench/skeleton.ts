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
  const load = await runInside('health-load.mjs', ['http://127.0.0.1:7740/health', '200', '15']);
  const rssAfterLoad = await rssMb();
  const results = {
    measuredAt: new Date().toISOString(),
    where: 'lab node a (Debian 13, systemd, PostgreSQL 17), agent from the .deb under its unit',
    debSizeBytes: statSync(deb).size,
    coldStartMs: { median: median(cold), runs: cold, target: TARGETS.coldStartMs },
    idleRssMb: { after30s: idleRss, afterLoad: rssAfterLoad, target: TARGETS.idleRssMb },
    health: { ratePerSecond: 200, ...load, targetP99Ms: TARGETS.p99Ms },
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
