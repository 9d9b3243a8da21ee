// An earlier release's .deb, built from its git commit once and cached per commit, for upgrade tests.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATHS } from './constants.js';
import { withFileLock } from './lock.js';
import { removeTree } from './mounts.js';
import { LabError, say, tryRun } from './sh.js';

/** Why: the release the upgrade test starts from; 0.1.0 is this commit (its package.json says so). */
export const RELEASE_0_1_0 = { version: '0.1.0', commit: 'de5528b' } as const;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function git(args: readonly string[]): Promise<string> {
  const r = await tryRun('git', ['-C', ROOT, ...args], { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new LabError(`git ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The full id of a commit, or a clear error when this clone does not have it (a shallow clone). */
async function resolveCommit(commit: string, version: string): Promise<string> {
  const r = await tryRun('git', ['-C', ROOT, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`]);
  if (r.exitCode === 0) return r.stdout.trim();
  const shallow = (await tryRun('git', ['-C', ROOT, 'rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true';
  const clone = `this clone${shallow ? ' (it is shallow)' : ''}`;
  throw new LabError(
    `commit ${commit} (pgduplex ${version}) is not in ${clone}: the upgrade test builds that release ` +
      'from it. Fetch the history first: git fetch --unshallow (or clone without --depth)',
  );
}

async function step(what: string, file: string, args: readonly string[], cwd: string): Promise<void> {
  const r = await tryRun('sh', ['-c', 'cd "$0" && exec "$@"', cwd, file, ...args], { timeoutMs: 900_000 });
  if (r.exitCode !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-20).join('\n');
    throw new LabError(`building the old release: ${what} failed (exit ${r.exitCode}):\n${tail}`);
  }
}

/** Builds the commit's .deb in a scratch directory (git archive, npm ci, npm run package); returns its path. */
async function build(sha: string, version: string, into: string): Promise<string> {
  const src = mkdtempSync(join(tmpdir(), `pgduplex-${version}-`));
  try {
    const tar = join(src, 'src.tar');
    await git(['archive', '--format=tar', `--output=${tar}`, sha]);
    await step('tar -x', 'tar', ['-xf', tar], src);
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { version: string };
    if (pkg.version !== version) throw new LabError(`commit ${sha} is pgduplex ${pkg.version}, not ${version}`);
    say(`building pgduplex ${version} from ${sha.slice(0, 12)} (npm ci, npm run package) in ${src}`);
    await step('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], src);
    await step('npm run package', 'npm', ['run', '--silent', 'package'], src);
    const deb = join(src, 'dist', `pgduplex_${version}_all.deb`);
    if (!existsSync(deb)) {
      const dist = readdirSync(join(src, 'dist')).join(', ');
      throw new LabError(`npm run package of ${sha} wrote no ${deb} (dist: ${dist})`);
    }
    mkdirSync(into, { recursive: true, mode: 0o755 });
    const tmp = join(into, `.tmp-${process.pid}.deb`);
    copyFileSync(deb, tmp);
    const final = join(into, `pgduplex_${version}_all.deb`);
    renameSync(tmp, final);
    return final;
  } finally {
    await removeTree(src).catch(() => undefined);
  }
}

/**
 * Why: an upgrade test needs the real earlier package, reproducibly. Builds it from its commit once,
 * under a host-wide lock, and keeps it in the lab's cache keyed by the full commit id.
 */
export async function oldReleaseDeb(release: { version: string; commit: string } = RELEASE_0_1_0): Promise<string> {
  const sha = await resolveCommit(release.commit, release.version);
  const dir = `${PATHS.cacheDir}/releases/${sha}`;
  const deb = join(dir, `pgduplex_${release.version}_all.deb`);
  mkdirSync(PATHS.cacheDir, { recursive: true, mode: 0o755 });
  return withFileLock(`${PATHS.cacheDir}/.lock-releases`, `pgduplex ${release.version} .deb`, async () => {
    if (existsSync(deb)) return deb;
    return build(sha, release.version, dir);
  });
}
