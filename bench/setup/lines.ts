// Reading `pgduplex setup`'s task lines, each stamped with when it arrived: where the time went.

/** One line of the CLI's output and the milliseconds since the CLI was started. */
export interface TimedLine {
  ms: number;
  text: string;
}

const TASK = /^(ok|changed|would|note|\.\.\.|DIFFERS)\s+(\S+)\s+([a-z][a-z -]*):/;

/** The step a task line reports (`firewall`, `initial copy`, `verify`…); the summary line is `summary`. */
export function stepOf(text: string): string {
  return TASK.exec(text)?.[3]?.trim() ?? 'summary';
}

/** Seconds per step: the time up to each line is charged to the step that printed it. */
export function secondsPerStep(lines: readonly TimedLine[]): Record<string, number> {
  const out: Record<string, number> = {};
  let last = 0;
  for (const l of lines) {
    const step = stepOf(l.text);
    out[step] = Math.round(((out[step] ?? 0) + (l.ms - last) / 1000) * 100) / 100;
    last = l.ms;
  }
  return out;
}

/**
 * The initial copy: from the end of the step before the copying subscription (so the CREATE
 * SUBSCRIPTION itself counts) to the line saying every table is ready. Undefined when there was none.
 */
export function copyWindowMs(lines: readonly TimedLine[]): { startMs: number; endMs: number } | undefined {
  const create = lines.findIndex((l) => /subscription: create subscription .*copy_data=true/.test(l.text));
  const done = lines.findLast((l) => /initial copy: (\d+)\/\1 tables ready/.test(l.text));
  if (create < 0 || !done) return undefined;
  return { startMs: lines[create - 1]?.ms ?? 0, endMs: done.ms };
}
