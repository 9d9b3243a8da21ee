import { statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import si from 'systeminformation';
import type { SystemHealth } from '../../shared/health.js';

let osFacts: Promise<SystemHealth['os']> | undefined;

/** OS, load, memory and free disk on the filesystem that holds `dataPath`. */
export async function systemFacts(dataPath: string): Promise<SystemHealth> {
  osFacts ??= si.osInfo().then((o) => ({
    distro: o.distro,
    release: o.release,
    codename: o.codename,
    kernel: o.kernel,
    arch: o.arch,
  }));
  const [os, load, mem, disk] = await Promise.all([osFacts, si.currentLoad(), si.mem(), diskFacts(dataPath)]);
  const [avg1 = 0, avg5 = 0, avg15 = 0] = loadavg();
  return {
    os,
    load: { avg1, avg5, avg15, currentPercent: Math.round(load.currentLoad * 10) / 10 },
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
