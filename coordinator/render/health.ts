import type { HealthReport } from '../../shared/health.js';
import type { ReplicationHealth } from '../../shared/replication.js';
import { formatBytes, formatDuration, type Palette } from './format.js';

/** Renders a node's health for a person: three aligned lines, the verdict first. */
export function renderHealth(h: HealthReport, c: Palette): string {
  const pg = h.postgresql;
  const cluster = pg.cluster ? `${pg.cluster.version}/${pg.cluster.name}` : 'no cluster';
  const pgLine = pg.ready
    ? `${c.green('ready')}      ${cluster}  PostgreSQL ${pg.serverVersion ?? '?'}  wal_level=${pg.walLevel ?? '?'}  ` +
      `data ${pg.dataDirectory ?? '?'}`
    : `${c.red('NOT READY')}  ${cluster}  ${pg.reason ?? 'unknown reason'}`;
  const s = h.system;
  const disk =
    s.disk.freeBytes !== undefined && s.disk.totalBytes !== undefined
      ? `${formatBytes(s.disk.freeBytes)} free of ${formatBytes(s.disk.totalBytes)} on ${s.disk.path}`
      : `unknown on ${s.disk.path} (${s.disk.error ?? 'no data'})`;
  const used = s.memory.totalBytes - s.memory.availableBytes;
  return [
    `${c.bold('agent')}       pgduplex-agent ${h.agent.version} on ${c.bold(h.agent.node)}, ` +
      `up ${formatDuration(h.agent.uptimeSeconds)}`,
    `${c.bold('postgresql')}  ${pgLine}`,
    `${c.bold('system')}      ${s.os.distro} ${s.os.release} (${s.os.codename}), kernel ${s.os.kernel}`,
    `            load ${s.load.avg1.toFixed(2)} ${s.load.avg5.toFixed(2)} ${s.load.avg15.toFixed(2)}, ` +
      `memory ${formatBytes(used)} used of ${formatBytes(s.memory.totalBytes)}`,
    `            disk ${disk}`,
    ...renderReplication(h.replication, c),
  ].join('\n');
}

/** The replication lines: each subscription here (incoming) and each slot here (outgoing, where lag is measured). */
export function renderReplication(r: ReplicationHealth | undefined, c: Palette): string[] {
  const head = c.bold('replication');
  if (!r) return [];
  if (!r.ok) return [`${head} ${c.red('unknown')}  ${r.reason ?? ''}`];
  if (r.subscriptions.length + r.slots.length === 0) return [`${head} not set up on this node`];
  const lines = [
    ...r.subscriptions.map((s) => {
      const state = !s.enabled ? c.red('disabled') : s.streaming ? c.green('streaming') : c.yellow('not streaming');
      return (
        `in  ${s.name}${s.from ? ` from ${s.from}` : ''}: ${state}, errors ${s.applyErrors} apply / ` +
        (s.syncSeqErrors === null || s.syncSeqErrors === undefined
          ? `${s.syncErrors} sync`
          : `${s.syncErrors} table sync / ${s.syncSeqErrors} sequence sync`)
      );
    }),
    ...r.slots.map((s) => {
      const lag =
        s.lagBytes === null
          ? 'lag unknown'
          : `lag ${formatBytes(s.lagBytes)}${s.lagSeconds === null ? '' : `, ${formatDuration(s.lagSeconds)}`}`;
      const held =
        s.retainedBytes === null ? '' : `, holds ${formatBytes(s.retainedBytes)} of WAL (${s.walStatus ?? '?'})`;
      return (
        `out ${s.name}${s.to ? ` to ${s.to}` : ''}: ${s.active ? c.green('active') : c.yellow('inactive')}, ` +
        `${lag}${held}`
      );
    }),
  ];
  return lines.map((l, i) => `${i === 0 ? `${head} ` : '            '}${l}`);
}
