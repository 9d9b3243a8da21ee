import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressBar, progressRenderer } from '../../../coordinator/render/progress.js';

const sink = (tty: boolean) => {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { read(): Buffer | null };
  (s as { isTTY?: boolean }).isTTY = tty;
  return s;
};

describe('progressBar', () => {
  it('fills in proportion and clamps', () => {
    expect(progressBar(0, 10, 10)).toBe('[..........]   0%');
    expect(progressBar(5, 10, 10)).toBe('[#####.....]  50%');
    expect(progressBar(12, 10, 10)).toBe('[##########] 100%');
    expect(progressBar(3, 0, 10)).toBe('[..........]   0%');
  });
});

describe('progressRenderer', () => {
  it('redraws one line on a terminal and clears it before a task line', () => {
    const out = sink(true);
    const r = progressRenderer(out);
    r.update('b', 'initial copy', 1, 4, '1/4 tables ready');
    r.update('b', 'initial copy', 2, 4, '2/4 tables ready');
    r.clear();
    const text = String(out.read());
    expect(text.split('\r\u001b[2K')).toHaveLength(4);
    expect(text).toContain('[############............]  50% 2/4 tables ready');
    expect(text).not.toContain('\n');
  });
  it('prints plain lines without a terminal, only when the count moves', () => {
    const out = sink(false);
    const r = progressRenderer(out);
    r.update('b', 'initial copy', 1, 4, '1/4');
    r.update('b', 'initial copy', 1, 4, '1/4 again');
    r.update('b', 'initial copy', 2, 4, '2/4');
    r.clear();
    expect(String(out.read())).toBe('...      b      initial copy: 1/4\n...      b      initial copy: 2/4\n');
  });
});
