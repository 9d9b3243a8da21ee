// Runs a command inside a lab node and stamps each output line as it arrives (the CLI writes to a pipe, synchronously).
import { execa } from 'execa';
import { nodeEnterArgv, nodeEnv } from '../../test/lab/exec.js';
import type { NodeName } from '../../test/lab/index.js';
import type { TimedLine } from './lines.js';

/** A finished command: wall time, exit status, stdout lines with arrival times, stderr. */
export interface TimedRun {
  ms: number;
  exitCode: number;
  lines: TimedLine[];
  stderr: string;
}

/** Times `argv` on `node` from spawn to exit, the nsenter into the node included. */
export async function runTimed(node: NodeName, argv: readonly string[], timeoutMs = 6 * 3_600_000): Promise<TimedRun> {
  const [file, ...args] = [...nodeEnterArgv(node), ...argv] as [string, ...string[]];
  const t0 = performance.now();
  const child = execa(file, args, {
    env: nodeEnv(),
    extendEnv: false,
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
  });
  const lines: TimedLine[] = [];
  for await (const text of child.iterable({ from: 'stdout' }))
    lines.push({ ms: performance.now() - t0, text: String(text) });
  const r = await child;
  return { ms: performance.now() - t0, exitCode: r.exitCode ?? 1, lines, stderr: String(r.stderr) };
}
