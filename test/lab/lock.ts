// Host-wide exclusive lock through flock(1): the kernel drops it when its holder dies, so a killed
// lab process can never leave a stale lock behind (no pid files, no stale-lock guessing).
import { execa } from 'execa';
import { LabError, hostEnv, say } from './sh.js';

/**
 * Why: several labs (PGDX_LAB_ID) share the base rootfs cache; its build, rename and pruning must
 * not interleave. Runs fn while holding an exclusive flock on lockFile, waiting up to timeoutSec.
 */
export async function withFileLock<T>(
  lockFile: string,
  what: string,
  fn: () => Promise<T>,
  timeoutSec = 2_400,
): Promise<T> {
  // flock holds the lock while its child runs; the child lives until we close its stdin (or die).
  const holder = execa(
    'flock',
    ['--exclusive', '--timeout', String(timeoutSec), lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      reject: false,
      env: hostEnv(),
      extendEnv: false,
    },
  );
  const acquired = new Promise<void>((resolve, reject) => {
    let out = '';
    holder.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('locked')) resolve();
    });
    void holder.then((r) => {
      const why = String(r.stderr ?? '').trim() || (r.exitCode === 1 ? `timed out after ${timeoutSec} s` : '');
      reject(new LabError(`could not lock ${lockFile} for ${what} (flock exit ${r.exitCode ?? r.signal}): ${why}`));
    });
  });
  const slow = setTimeout(() => say(`waiting for ${lockFile}: another lab process is using it (${what})…`), 1_000);
  try {
    await acquired;
  } finally {
    clearTimeout(slow);
  }
  try {
    return await fn();
  } finally {
    holder.stdin.end();
    await holder;
  }
}
