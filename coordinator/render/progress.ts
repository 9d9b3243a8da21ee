import { safeLine } from './safe-text.js';

/** A progress display for long steps: a redrawn bar on a terminal, a plain line now and then otherwise. */
export interface ProgressRenderer {
  update(node: string, label: string, done: number, total: number, detail: string): void;
  /** Removes the bar so a task line can be printed in its place. */
  clear(): void;
}

/** The bar itself, pure so it is unit-tested: `[#####.....]  50%`. */
export function progressBar(done: number, total: number, width = 24): string {
  const share = total > 0 ? Math.min(Math.max(done / total, 0), 1) : 0;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}%`;
}

/** Draws on `stream`; without a TTY it prints a line only when the count moves or a minute has passed. */
export function progressRenderer(stream: NodeJS.WriteStream, quietMs = 60_000): ProgressRenderer {
  const tty = stream.isTTY === true;
  let drawn = false;
  let lastDone = -1;
  let lastAt = 0;
  return {
    update(rawNode, rawLabel, done, total, rawDetail) {
      const [node, label, detail] = [safeLine(rawNode), safeLine(rawLabel), safeLine(rawDetail)];
      if (tty) {
        stream.write(`\r\u001b[2K...      ${node.padEnd(6)} ${label} ${progressBar(done, total)} ${detail}`);
        drawn = true;
        return;
      }
      if (done === lastDone && Date.now() - lastAt < quietMs) return;
      lastDone = done;
      lastAt = Date.now();
      stream.write(`${'...'.padEnd(8)} ${node.padEnd(6)} ${label}: ${detail}\n`);
    },
    clear() {
      if (!drawn) return;
      stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}
