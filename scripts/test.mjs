// `npm test`: installs what it needs, builds the .deb, runs every test (unit and lab) and ends with
// one plain line "N passed, N failed" derived from vitest's JSON report, which is what CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const extraArgs = process.argv.slice(2);
const report = '.test-results/vitest.json';

function run(cmd, args, { allowFail = false } = {}) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 && !allowFail) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  return r.status ?? 1;
}

if (ci || !existsSync('node_modules/.package-lock.json')) run('npm', ['ci', '--no-audit', '--no-fund']);
run('bash', ['scripts/host-deps.sh']);
const typecheck = run('npm', ['run', '--silent', 'typecheck'], { allowFail: true });
const lint = run('npm', ['run', '--silent', 'lint'], { allowFail: true });
run('npm', ['run', '--silent', 'package']);

rmSync(report, { force: true });
mkdirSync('.test-results', { recursive: true });
const vitest = run(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extraArgs],
  { allowFail: true },
);

let passed = 0;
let failed = (typecheck === 0 ? 0 : 1) + (lint === 0 ? 0 : 1);
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  // A file that fails to load or a failing hook fails no single test; count it so it cannot hide.
  for (const file of json.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).every((a) => a.status !== 'failed')) failed += 1;
  }
} else {
  failed += 1;
}
if (typecheck !== 0) console.log('typecheck failed (counted as one failure)');
if (lint !== 0)
  console.log(
    'lint failed: run npm run format, then wrap what is still wider than 120 columns (counted as one failure)',
  );
if (vitest !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
