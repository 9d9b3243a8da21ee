import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FOLD_AFTER, taskLog } from '../../../coordinator/render/tasks.js';

let out: string[];
beforeEach(() => {
  out = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

const printed = () =>
  out
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/\s+/g, ' '));

describe('taskLog', () => {
  it('prints the first lines of a long run of one kind, then one line counting the rest; JSON keeps all', () => {
    const t = taskLog(false);
    t.report('ok', 'a', 'preflight: fine');
    for (let i = 1; i <= 800; i++) t.report('changed', 'a', `sequences: public.t${i}_id_seq: increment 1 -> 2`);
    t.report('changed', 'b', 'sequences: public.t1_id_seq: increment 1 -> 2');
    t.flush();
    expect(printed()).toEqual([
      'ok a preflight: fine',
      ...Array.from({ length: FOLD_AFTER }, (_, i) => `changed a sequences: public.t${i + 1}_id_seq: increment 1 -> 2`),
      `changed a sequences: … and ${800 - FOLD_AFTER} more like these (--json lists every one)`,
      'changed b sequences: public.t1_id_seq: increment 1 -> 2',
    ]);
    expect(t.lines).toHaveLength(802);
  });

  it('counts the folded rest when the run ends the output (flush)', () => {
    const t = taskLog(false);
    for (let i = 0; i < FOLD_AFTER + 3; i++) t.report('revert', 'b', `revert sequences: s${i}`);
    expect(printed()).toHaveLength(FOLD_AFTER);
    t.flush();
    expect(printed().at(-1)).toBe('revert b revert sequences: … and 3 more like these (--json lists every one)');
    t.flush();
    expect(printed()).toHaveLength(FOLD_AFTER + 1);
  });

  it('never folds progress lines, nor a run of exactly the limit', () => {
    const t = taskLog(false);
    for (let i = 0; i < 30; i++) t.report('...', 'b', `initial copy: ${i}/30 tables ready`);
    for (let i = 0; i < FOLD_AFTER; i++) t.report('changed', 'a', `firewall: rule ${i}`);
    t.flush();
    expect(printed()).toHaveLength(30 + FOLD_AFTER);
  });

  it('prints nothing in JSON mode', () => {
    const t = taskLog(true);
    t.report('changed', 'a', 'x: y');
    t.flush();
    expect(out).toEqual([]);
    expect(t.lines).toEqual([{ status: 'changed', node: 'a', what: 'x: y' }]);
  });
});
