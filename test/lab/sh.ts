// Thin execa wrappers: one error type, one progress logger, one clean environment.
import { execa } from 'execa';
import { SAFE_PATH } from './constants.js';
import { LabError } from './errors.js';

export { LabError };

let logger: ((line: string) => void) | null = (line) => process.stderr.write(`[lab] ${line}\n`);

/** Why: tests may silence or capture progress lines; the CLI keeps the default (stderr). */
export function setLabLogger(fn: ((line: string) => void) | null): void {
  logger = fn;
}

/** Why: progress lines for slow steps (builds, boots) so a human knows what is happening. */
export function say(line: string): void {
  logger?.(line);
}

/** Why: host commands get a predictable PATH/locale without dropping the caller's environment. */
export function hostEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return { ...env, PATH: `${SAFE_PATH}:${process.env.PATH ?? ''}`, LC_ALL: 'C', ...extra };
}

/** Result of a finished child process. */
export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Options for run/tryRun. */
export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Replace the environment entirely instead of extending hostEnv(). */
  cleanEnv?: boolean;
}

/** Why: most host commands either work or the lab cannot continue; this never throws on exit codes. */
export async function tryRun(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = opts.cleanEnv ? (opts.env ?? {}) : hostEnv(opts.env);
  const r = await execa(file, args, {
    reject: false,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    ...(opts.input === undefined ? {} : { input: opts.input }),
    timeout: opts.timeoutMs ?? 120_000,
    env,
    extendEnv: false,
    encoding: 'utf8',
  });
  if (r.timedOut) {
    return {
      stdout: r.stdout,
      stderr: `${r.stderr}\n(timed out after ${opts.timeoutMs ?? 120_000} ms)`,
      exitCode: 124,
    };
  }
  if (r.exitCode === undefined) {
    return { stdout: r.stdout, stderr: `${r.stderr}\n(${r.shortMessage})`, exitCode: 125 };
  }
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

/** Why: the common case; throws LabError carrying the command and its stderr. */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await tryRun(file, args, opts);
  if (r.exitCode !== 0) {
    const out = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-15).join('\n');
    throw new LabError(`${file} ${args.join(' ')} failed (exit ${r.exitCode}): ${out}`);
  }
  return r.stdout;
}

/** Why: polling loops (boot, shutdown) need a plain delay. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
