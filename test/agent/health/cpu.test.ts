import { describe, expect, it } from 'vitest';
import { busyPercent, sumCpuTimes } from '../../../agent/health/cpu.js';

const core = (user: number, idle: number) => ({ times: { user, nice: 0, sys: 0, irq: 0, idle } });

describe('CPU busy percent', () => {
  it('sums busy and total time over cores', () => {
    expect(sumCpuTimes([core(10, 90), core(30, 70)])).toEqual({ busy: 40, total: 200 });
  });

  it('measures the share of busy time between two samples', () => {
    expect(busyPercent({ busy: 40, total: 200 }, { busy: 100, total: 400 })).toBe(30);
  });

  it('is 0 when no time passed', () => {
    expect(busyPercent({ busy: 1, total: 2 }, { busy: 1, total: 2 })).toBe(0);
  });
});
