import { createInterface } from 'node:readline/promises';
import { palette } from './format.js';
import { safeLine } from './safe-text.js';

/** One printed task line: status, node, what happened. */
export interface TaskLine {
  status: string;
  node: string;
  what: string;
}

/** Lines of one kind (status, node, action) printed in a row before the rest are counted instead. */
export const FOLD_AFTER = 10;

/**
 * Collects task lines and, unless the output is JSON, prints each as it happens (coloured on a TTY).
 * A long run of one kind (800 sequences) prints its first FOLD_AFTER and then one line counting the
 * rest; `flush` prints that count when the run ends. JSON always holds every line.
 */
export function taskLog(
  json: boolean,
  beforeLine?: () => void,
): { lines: TaskLine[]; report: (status: string, node: string, what: string) => void; flush: () => void } {
  const c = palette(process.stdout);
  const colour = (s: string) =>
    s === 'changed' ? c.yellow(s) : s === 'ok' ? c.green(s) : s === 'DIFFERS' || s === 'FAILED' ? c.red(s) : s;
  const print = (status: string, node: string, what: string) => {
    beforeLine?.();
    process.stdout.write(`${colour(safeLine(status).padEnd(8))} ${safeLine(node).padEnd(6)} ${safeLine(what)}\n`);
  };
  const lines: TaskLine[] = [];
  let run: { key: string; status: string; node: string; action: string; shown: number; hidden: number } | undefined;
  const flush = () => {
    if (run && run.hidden > 0)
      print(run.status, run.node, `${run.action}: … and ${run.hidden} more like these (--json lists every one)`);
    run = undefined;
  };
  return {
    lines,
    flush,
    report: (status, node, what) => {
      lines.push({ status, node, what });
      if (json) return;
      const cut = what.indexOf(':');
      const action = cut > 0 ? what.slice(0, cut) : what;
      const key = `${status}\0${node}\0${action}`;
      if (run?.key !== key) {
        flush();
        run = { key, status, node, action, shown: 0, hidden: 0 };
      }
      // Progress ('...') is never folded: it is the only sign of life during a long step.
      if (run.shown >= FOLD_AFTER && status !== '...') return void (run.hidden += 1);
      run.shown += 1;
      print(status, node, what);
    },
  };
}

/** Asks a y/N question on the terminal; anything but y/yes is a no. */
export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^(y|yes)$/i.test((await rl.question(`${safeLine(question)} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
