import { createInterface } from 'node:readline/promises';
import { palette } from './format.js';

/** One printed task line: status, node, what happened. */
export interface TaskLine {
  status: string;
  node: string;
  what: string;
}

/** Collects task lines and, unless the output is JSON, prints each as it happens (coloured on a TTY). */
export function taskLog(json: boolean, beforeLine?: () => void): { lines: TaskLine[]; report: (status: string, node: string, what: string) => void } {
  const c = palette(process.stdout);
  const colour = (s: string) => (s === 'changed' ? c.yellow(s) : s === 'ok' ? c.green(s) : s === 'DIFFERS' || s === 'FAILED' ? c.red(s) : s);
  const lines: TaskLine[] = [];
  return {
    lines,
    report: (status, node, what) => {
      lines.push({ status, node, what });
      if (json) return;
      beforeLine?.();
      process.stdout.write(`${colour(status.padEnd(8))} ${node.padEnd(6)} ${what}\n`);
    },
  };
}

/** Asks a y/N question on the terminal; anything but y/yes is a no. */
export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^(y|yes)$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
