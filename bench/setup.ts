// `npm run bench` (setup): per fixture size, on a fresh lab pair, `pgduplex setup --yes` from a, its
// re-run, and the floor (the same work by hand after everything was undone); writes bench/results/setup.json.
// Sizes: PGDX_BENCH_SETUP_SIZES=250MB,2.5GB (default 250MB).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildFixture, dropFixture } from '../test/lab/fixture/build.js';
import { formatSize, parseSize } from '../test/lab/fixture/plan.js';
import { labDown, labUp, nodeExec } from '../test/lab/index.js';
import { pairLabNodes } from '../test/lab/pair.js';
import { debPath } from '../test/lab/paths.js';
import { undoEverything } from '../test/lab/undo-all.js';
import { saveLabResults } from './lab-results.js';
import { checksumsBoth, floorRun } from './setup/floor.js';
import { copyWindowMs, secondsPerStep } from './setup/lines.js';
import { runTimed, type TimedRun } from './setup/timed-cli.js';

const SIZES = (process.env.PGDX_BENCH_SETUP_SIZES ?? '250MB')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
// Three rounds up to 1 GB, one above (a 2.5 GB round takes a long while); PGDX_BENCH_SETUP_ROUNDS overrides.
const roundsFor = (size: string) =>
  Number(process.env.PGDX_BENCH_SETUP_ROUNDS ?? (parseSize(size) <= 1024 ** 3 ? 3 : 1));
const TARGET = { setupVsFloor: 1.25, rerunSeconds: 3 };
const HOW =
  'medians over rounds, each on a fresh lab with the default agent config; setup = wall time of `pgduplex setup --yes` on node a, nsenter and CLI start included; ' +
  'floor = after undoing setup, the same settings and restarts (in parallel), pg_hba, iptables, role + passfile, pg_dump -s | psql, publications, copying subscription polled ' +
  'each second, reverse subscription and checksum verify, issued by hand through psql/bash';
const s = (ms: number) => Math.round(ms / 10) / 100;
const mbps = (bytes: number, ms: number) => Math.round((bytes / 1024 ** 2 / (ms / 1000)) * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function mustPass(what: string, r: TimedRun): TimedRun {
  if (r.exitCode !== 0)
    throw new Error(`${what} failed (exit ${r.exitCode}):\n${r.lines.map((l) => l.text).join('\n')}\n${r.stderr}`);
  return r;
}

/** One round on a fresh lab: fixture, setup, re-run, undo, floor. */
async function benchRound(size: string) {
  await labUp({ deb: debPath() });
  const fixture = await buildFixture('a', size, { noKeyTable: false });
  console.log(
    `fixture: ${formatSize(fixture.databaseBytes)} (${fixture.plan.cdrs} call records, ${fixture.plan.domains} tenants) in ${fixture.seconds} s`,
  );
  await pairLabNodes();
  await nodeExec('a', ['sync']); // sync(2) flushes every filesystem of the host kernel, not only node a's

  const setup = mustPass('pgduplex setup', await runTimed('a', ['pgduplex', 'setup', '--yes']));
  const copy = copyWindowMs(setup.lines);
  if (!copy) throw new Error(`pgduplex setup printed no initial copy:\n${setup.lines.map((l) => l.text).join('\n')}`);
  const rerun = mustPass('pgduplex setup (re-run)', await runTimed('a', ['pgduplex', 'setup', '--yes']));
  const t = performance.now();
  await checksumsBoth();
  const checksumsMs = performance.now() - t;

  await undoEverything();
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
  await dropFixture('b');
  // Both timed runs start with nothing left to write back (the fixture's or setup's own writes would slow the next copy).
  await nodeExec('a', ['sync']);
  const floor = await floorRun(randomBytes(18).toString('base64url'));
  const round = {
    setup: {
      seconds: s(setup.ms),
      copySeconds: s(copy.endMs - copy.startMs),
      secondsPerStep: secondsPerStep(setup.lines),
    },
    rerun: { seconds: s(rerun.ms), secondsPerStep: secondsPerStep(rerun.lines) },
    checksumsBothNodesSeconds: s(checksumsMs),
    floor: { seconds: s(floor.ms), copySeconds: s(floor.copyMs), phases: floor.phases },
    setupVsFloor: Math.round((setup.ms / floor.ms) * 100) / 100,
    // The copy is the same PostgreSQL work in both runs, and its time swings with the shared machine's load:
    // this ratio gives setup the floor's copy time, so what remains is what pgduplex adds.
    setupVsFloorSameCopy: Math.round(((setup.ms - (copy.endMs - copy.startMs) + floor.copyMs) / floor.ms) * 100) / 100,
  };
  console.log(
    `setup ${round.setup.seconds} s (copy ${round.setup.copySeconds} s), re-run ${round.rerun.seconds} s, floor ${round.floor.seconds} s (copy ${round.floor.copySeconds} s): ${round.setupVsFloor}`,
  );
  return { databaseBytes: fixture.databaseBytes, fixture: { ...fixture.plan, buildSeconds: fixture.seconds }, round };
}

/** Every round of one size, summarised by medians (the machine is shared, so one round is noisy). */
async function benchSize(size: string, rounds: number) {
  const runs: Array<Awaited<ReturnType<typeof benchRound>>> = [];
  for (let i = 1; i <= rounds; i++) {
    console.log(`\n== ${size}, round ${i}/${rounds}: fresh lab, fixture on a, b empty`);
    runs.push(await benchRound(size));
  }
  const r = runs.map((x) => x.round);
  const bytes = median(runs.map((x) => x.databaseBytes));
  const ratio = median(r.map((x) => x.setupVsFloor));
  const rerun = median(r.map((x) => x.rerun.seconds));
  return {
    size,
    databaseBytes: bytes,
    fixture: runs[0]?.fixture,
    setupSeconds: median(r.map((x) => x.setup.seconds)),
    floorSeconds: median(r.map((x) => x.floor.seconds)),
    setupVsFloor: ratio,
    setupVsFloorSameCopy: median(r.map((x) => x.setupVsFloorSameCopy)),
    rerunSeconds: rerun,
    copyMiBps: {
      setup: mbps(bytes, median(r.map((x) => x.setup.copySeconds)) * 1000),
      floor: mbps(bytes, median(r.map((x) => x.floor.copySeconds)) * 1000),
    },
    met: { setupVsFloor: ratio <= TARGET.setupVsFloor, rerun: rerun <= TARGET.rerunSeconds },
    rounds: r,
  };
}

for (const size of SIZES) parseSize(size);
execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'inherit' });
const results: Array<Awaited<ReturnType<typeof benchSize>>> = [];
// Written after each size, so a long run that fails later still leaves what it measured.
const save = () => saveLabResults('setup', HOW, { targets: TARGET, sizes: results });
try {
  for (const size of SIZES) {
    results.push(await benchSize(size, roundsFor(size)));
    save();
  }
} finally {
  await labDown();
}
console.log('\nmedians  database  setup     floor     ratio        re-run           copy MiB/s setup/floor');
for (const r of results) {
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(
    `${r.size.padEnd(8)} ${formatSize(r.databaseBytes).padEnd(9)} ${`${r.setupSeconds} s`.padEnd(9)} ${`${r.floorSeconds} s`.padEnd(9)} ${`${r.setupVsFloor} ${mark(r.met.setupVsFloor)}`.padEnd(12)} ${`${r.rerunSeconds} s ${mark(r.met.rerun)}`.padEnd(16)} ${r.copyMiBps.setup} / ${r.copyMiBps.floor}`,
  );
}
