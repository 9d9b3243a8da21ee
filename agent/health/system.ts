import { statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { mem as memory } from 'systeminformation/lib/memory.js';
import { osInfo } from 'systeminformation/lib/osinfo.js';
import type { SystemHealth } from '../../shared/health.js';
import { cpuBusySinceLastCall } from './cpu.js';

let osFacts: Promise<SystemHealth['os']> | undefined;

/** OS, load, memory and free disk on the filesystem that holds `dataPath`. */
export async function systemFacts(dataPath: string): Promise<SystemHealth> {
  osFacts ??= osInfo().then((o) => ({
    distro: o.distro,
    release: o.release,
    codename: o.codename,
    kernel: o.kernel,
    arch: o.arch,
  }));
  const [os, mem, disk] = await Promise.all([osFacts, memory(), diskFacts(dataPath)]);
  const [avg1 = 0, avg5 = 0, avg15 = 0] = loadavg();
  return {
    os,
    load: { avg1, avg5, avg15, currentPercent: cpuBusySinceLastCall() },
    memory: { totalBytes: mem.total, availableBytes: mem.available },
    disk,
  };
}

async function diskFacts(path: string): Promise<SystemHealth['disk']> {
  try {
    const s = await statfs(path);
    return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    return { path, error: (err as NodeJS.ErrnoException).code ?? 'statfs failed' };
  }
}
