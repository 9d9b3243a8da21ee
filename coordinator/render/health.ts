import type { HealthReport } from '../../shared/health.js';
import { formatBytes, formatDuration, type Palette } from './format.js';

/** Renders a node's health for a person: three aligned lines, the verdict first. */
export function renderHealth(h: HealthReport, c: Palette): string {
  const pg = h.postgresql;
  const cluster = pg.cluster ? `${pg.cluster.version}/${pg.cluster.name}` : 'no cluster';
  const pgLine = pg.ready
    ? `${c.green('ready')}      ${cluster}  PostgreSQL ${pg.serverVersion ?? '?'}  wal_level=${pg.walLevel ?? '?'}  data ${pg.dataDirectory ?? '?'}`
    : `${c.red('NOT READY')}  ${cluster}  ${pg.reason ?? 'unknown reason'}`;
  const s = h.system;
  const disk =
    s.disk.freeBytes !== undefined && s.disk.totalBytes !== undefined
      ? `${formatBytes(s.disk.freeBytes)} free of ${formatBytes(s.disk.totalBytes)} on ${s.disk.path}`
      : `unknown on ${s.disk.path} (${s.disk.error ?? 'no data'})`;
  const used = s.memory.totalBytes - s.memory.availableBytes;
  return [
    `${c.bold('agent')}       pgduplex-agent ${h.agent.version} on ${c.bold(h.agent.node)}, up ${formatDuration(h.agent.uptimeSeconds)}`,
    `${c.bold('postgresql')}  ${pgLine}`,
    `${c.bold('system')}      ${s.os.distro} ${s.os.release} (${s.os.codename}), kernel ${s.os.kernel}`,
    `            load ${s.load.avg1.toFixed(2)} ${s.load.avg5.toFixed(2)} ${s.load.avg15.toFixed(2)}, memory ${formatBytes(used)} used of ${formatBytes(s.memory.totalBytes)}`,
    `            disk ${disk}`,
  ].join('\n');
}
