import type { NodeName } from '../lab/constants.js';
import { nodeExec } from '../lab/exec.js';
import { killMainPid } from './faults.js';

/** How a detached CLI run ended. */
export interface RunEnd {
  /** Exit status, or null when a signal ended it. */
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

let serial = 0;

/**
 * `pgduplex setup` running detached inside a node as a transient systemd unit, so a test can watch its
 * task lines, kill exactly it (never by name) and read how it ended.
 */
export class SetupRun {
  private constructor(
    readonly node: NodeName,
    readonly unit: string,
  ) {}

  private get out(): string {
    return `/tmp/${this.unit}.out`;
  }

  private get err(): string {
    return `/tmp/${this.unit}.err`;
  }

  /** Starts the CLI with `args`; its stdout and stderr go to files inside the node. */
  static async start(node: NodeName, args: readonly string[]): Promise<SetupRun> {
    const run = new SetupRun(node, `pgdx-fault-setup-${process.pid}-${++serial}`);
    await nodeExec(node, [
      'systemd-run',
      `--unit=${run.unit}`,
      '--quiet',
      '-p',
      'RemainAfterExit=yes',
      '-p',
      `StandardOutput=truncate:${run.out}`,
      '-p',
      `StandardError=truncate:${run.err}`,
      'pgduplex',
      'setup',
      ...args,
    ]);
    return run;
  }

  /**
   * Waits inside the node (polling every 50 ms, so a fault lands right after the line) until a
   * task line matches `pattern` (an extended regex) or the CLI has ended; true when the line came.
   */
  async waitForLine(pattern: string, timeoutMs: number): Promise<boolean> {
    const script = `deadline=$((SECONDS + ${Math.ceil(timeoutMs / 1000)}))
while [ $SECONDS -lt $deadline ]; do
  grep -qE -- "$1" ${this.out} 2>/dev/null && exit 0
  [ "$(systemctl show -P SubState "$2")" = running ] || { grep -qE -- "$1" ${this.out} 2>/dev/null && exit 0; exit 3; }
  sleep 0.05
done
exit 4`;
    const r = await nodeExec(this.node, ['bash', '-c', script, 'wait-line', pattern, this.unit], {
      reject: false,
      timeoutMs: timeoutMs + 60_000,
    });
    if (r.exitCode === 4)
      throw new Error(`no line matching /${pattern}/ within ${timeoutMs} ms; output so far:\n${await this.stdout()}`);
    return r.exitCode === 0;
  }

  /** Whether the CLI process is still running. */
  async running(): Promise<boolean> {
    return (await nodeExec(this.node, ['systemctl', 'show', '-P', 'SubState', this.unit])).stdout.trim() === 'running';
  }

  /** kill -9 of the CLI process. */
  kill(): Promise<unknown> {
    return killMainPid(this.node, this.unit);
  }

  /** What the CLI printed so far. */
  async stdout(): Promise<string> {
    return (await nodeExec(this.node, ['cat', this.out], { reject: false })).stdout;
  }

  /** Waits until the CLI ends (at most `timeoutMs`; undefined if it is still running then) and removes its unit. */
  async end(timeoutMs: number): Promise<RunEnd | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (await this.running()) {
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
    const show = (
      await nodeExec(this.node, ['systemctl', 'show', '-p', 'ExecMainCode', '-p', 'ExecMainStatus', this.unit])
    ).stdout;
    const prop = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(show)?.[1] ?? '';
    const killed = prop('ExecMainCode') === '2' || prop('ExecMainCode') === '3';
    const [stdout, stderr] = await Promise.all([
      this.stdout(),
      nodeExec(this.node, ['cat', this.err], { reject: false }).then((r) => r.stdout),
    ]);
    await this.remove();
    return {
      exitCode: killed ? null : Number(prop('ExecMainStatus')),
      ...(killed ? { signal: prop('ExecMainStatus') } : {}),
      stdout,
      stderr,
    };
  }

  /** Stops the unit if it still runs and forgets it. */
  async remove(): Promise<void> {
    await nodeExec(this.node, ['systemctl', 'stop', this.unit], { reject: false });
    await nodeExec(this.node, ['systemctl', 'reset-failed', this.unit], { reject: false });
    await nodeExec(this.node, ['rm', '-f', this.out, this.err]);
  }
}
