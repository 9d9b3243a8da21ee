import { constants } from 'node:fs';
import { access, realpath, statfs } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { osInfo } from 'systeminformation/lib/osinfo.js';
import { toPgduplexError } from '../../shared/errors.js';
import { factsAction, REPLICATION_SETTINGS } from '../../shared/protocol/facts.js';
import { listClusters, resolveCluster, type Cluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { readBaseSettings } from '../postgres/settings-server.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

const TOOLS = [
  'iptables',
  'ip6tables',
  'iptables-save',
  'netfilter-persistent',
  'pg_dump',
  'pg_restore',
  'psql',
  'pg_ctlcluster',
  'systemctl',
];
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The server's version, databases and replication settings, for the coordinator's plan. */
export const FACTS_SETTINGS_SQL = `select json_build_object(
  'serverVersion', current_setting('server_version'),
  'serverVersionNum', current_setting('server_version_num')::int,
  'dataDirectory', current_setting('data_directory'),
  'databases', (select coalesce(json_agg(datname order by datname), '[]') from pg_database where not datistemplate),
  'settings', (select json_object_agg(name, json_build_object('value', setting, 'unit', unit, 'source', source,
                 'pendingRestart', pending_restart))
               from pg_settings where name = any(array[${REPLICATION_SETTINGS.map((s) => `'${s}'`).join(',')}])))`;

async function hasTool(name: string): Promise<boolean> {
  for (const dir of PATH_DIRS) {
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

async function free(path: string): Promise<{ path: string; freeBytes: number }> {
  const real = await realpath(path).catch(() => path);
  const s = await statfs(real);
  return { path: real, freeBytes: s.bavail * s.bsize };
}

async function postgresFacts(cluster: Cluster, timeoutMs: number) {
  const f = await queryJson<{
    serverVersion: string;
    serverVersionNum: number;
    dataDirectory: string;
    databases: string[];
    settings: Record<string, { value: string; unit: string | null; source: string; pendingRestart: boolean }>;
  }>(cluster, FACTS_SETTINGS_SQL, { timeoutMs });
  const base = await readBaseSettings(cluster, timeoutMs);
  const settings = Object.fromEntries(
    Object.entries(f.settings).map(([name, v]) => [name, base[name] === undefined ? v : { ...v, base: base[name] }]),
  );
  return {
    ready: true as const,
    cluster: `${cluster.version}/${cluster.name}`,
    serverVersion: f.serverVersion,
    serverVersionNum: f.serverVersionNum,
    databases: f.databases,
    settings,
    disk: { data: await free(f.dataDirectory), wal: await free(join(f.dataDirectory, 'pg_wal')) },
  };
}

/** Reads everything the coordinator plans from; touches nothing. */
export const factsHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: factsAction,
    run: async (_params, ctx) => {
      const [os, clusters, tools] = await Promise.all([
        osInfo(),
        listClusters(),
        Promise.all(TOOLS.map(async (t) => [t, await hasTool(t)] as const)),
      ]);
      let postgresql;
      try {
        postgresql = await postgresFacts(await resolveCluster(s.postgresql), s.limits.toolTimeoutMs);
      } catch (err) {
        const e = toPgduplexError(err);
        postgresql = { ready: false as const, code: e.code, reason: e.hint ? `${e.message} (${e.hint})` : e.message };
      }
      const addresses = Object.entries(networkInterfaces()).flatMap(([name, list]) =>
        (list ?? [])
          .filter((a) => !a.internal)
          .map((a) => ({
            interface: name,
            address: a.address,
            family: a.family === 'IPv4' ? ('IPv4' as const) : ('IPv6' as const),
          })),
      );
      const busyWith = ctx.running?.();
      return {
        node: s.node,
        ...(busyWith === undefined ? {} : { busyWith }),
        os: { distro: os.distro, release: os.release, codename: os.codename, kernel: os.kernel },
        systemd: await access('/run/systemd/system').then(
          () => true,
          () => false,
        ),
        tools: Object.fromEntries(tools),
        addresses,
        clusters: clusters.map(({ version, name, port, configDir, dataDir, service }) => ({
          version,
          name,
          port,
          configDir,
          dataDir,
          service,
        })),
        postgresql,
      };
    },
  });
