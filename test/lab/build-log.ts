// Runs one step of a base rootfs build with its output appended to the build log (no pipe to the lab process).
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { LabError, hostEnv } from './sh.js';

/** Why: debootstrap and the apt steps after it log to one file; a failure quotes its last lines. */
export async function runToLog(what: string, argv: readonly string[], log: string): Promise<void> {
  const r = await execa('sh', ['-c', 'exec "$0" "$@" >>"$LAB_LOG" 2>&1', ...argv], {
    reject: false,
    stdin: 'ignore',
    env: hostEnv({ DEBIAN_FRONTEND: 'noninteractive', LAB_LOG: log }),
    extendEnv: false,
    timeout: 1_800_000,
  });
  if (r.exitCode !== 0) {
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-15).join('\n');
    throw new LabError(`${what} failed (exit ${r.exitCode ?? r.signal}); log ${log}:\n${tail}`);
  }
}
