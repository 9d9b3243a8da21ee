import { cpus, type CpuInfo } from 'node:os';

/** Cumulative CPU times summed over all cores. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** Sums per-core times; pure so the arithmetic is testable. */
export function sumCpuTimes(list: readonly Pick<CpuInfo, 'times'>[]): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of list) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Busy share in percent between two samples (one decimal); 0 when no time passed. */
export function busyPercent(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return Math.round(((after.busy - before.busy) / total) * 1000) / 10;
}

let previous: CpuTimes = sumCpuTimes(cpus());

/**
 * CPU busy percent since the previous call (since agent start for the first): no sampling sleep,
 * unlike systeminformation's currentLoad, whose first call waits half a second.
 */
export function cpuBusySinceLastCall(): number {
  const now = sumCpuTimes(cpus());
  const pct = busyPercent(previous, now);
  previous = now;
  return pct;
}
