import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';
import { confValue, parseConf } from './conf-parse.js';

/** A PostgreSQL cluster in Debian's postgresql-common layout. */
export interface Cluster {
  version: string;
  name: string;
  configDir: string;
  dataDir: string;
  port: number;
  socketDir: string;
  service: string;
  binDir: string;
}

/** libpq's connection options for a tool run as postgres against `database` over the cluster's socket. */
export function connectArgs(cluster: Cluster, database: string): string[] {
  return ['-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'postgres', '-d', database];
}

/** Root of Debian's cluster configs; a parameter so tests can point at a fixture tree. */
export const DEBIAN_CONF_ROOT = '/etc/postgresql';

/** PostgreSQL's default port, the one FS PBX's .env (DB_PORT) names. */
export const DEFAULT_PORT = 5432;

/** Lists every cluster found under /etc/postgresql/<version>/<name>/postgresql.conf. */
export async function listClusters(confRoot = DEBIAN_CONF_ROOT): Promise<Cluster[]> {
  const clusters: Cluster[] = [];
  for (const version of (await dirNames(confRoot)).filter((v) => /^\d+(\.\d+)?$/.test(v))) {
    for (const name of await dirNames(join(confRoot, version))) {
      const configDir = join(confRoot, version, name);
      let text: string;
      try {
        text = await readFile(join(configDir, 'postgresql.conf'), 'utf8');
      } catch {
        continue;
      }
      const entries = parseConf(text);
      const port = Number(confValue(entries, 'port') ?? '5432');
      const socketDirs = confValue(entries, 'unix_socket_directories') ?? '/var/run/postgresql';
      clusters.push({
        version,
        name,
        configDir,
        dataDir: confValue(entries, 'data_directory') ?? join('/var/lib/postgresql', version, name),
        port: Number.isInteger(port) ? port : 5432,
        socketDir: socketDirs.split(',')[0]?.trim() || '/var/run/postgresql',
        service: `postgresql@${version}-${name}`,
        binDir: join('/usr/lib/postgresql', version, 'bin'),
      });
    }
  }
  return clusters.sort((x, y) => Number(y.version) - Number(x.version) || x.name.localeCompare(y.name));
}

/** Picks the configured cluster, or the only one there is; never guesses between several. */
export async function resolveCluster(
  wanted: { version: string; cluster: string } | undefined,
  confRoot = DEBIAN_CONF_ROOT,
): Promise<Cluster> {
  const clusters = await listClusters(confRoot);
  if (wanted) {
    const hit = clusters.find((c) => c.version === wanted.version && c.name === wanted.cluster);
    if (hit) return hit;
    throw new PgduplexError(
      'CLUSTER_NOT_FOUND',
      `PostgreSQL cluster ${wanted.version}/${wanted.cluster} is not in ${confRoot}`,
      { hint: `found: ${describe(clusters)}; fix "postgresql" in agent.json` },
    );
  }
  // Installing a newer major's packages creates an empty cluster beside the served one (on the next port), and
  // pg_upgradecluster moves the old one off 5432: the one on the default port is what FS PBX connects to.
  const onDefault = clusters.filter((c) => c.port === DEFAULT_PORT);
  if (clusters.length > 1 && onDefault.length === 1) return onDefault[0]!;
  const [only, ...others] = clusters;
  if (only === undefined) {
    throw new PgduplexError('CLUSTER_NOT_FOUND', `no PostgreSQL cluster found under ${confRoot}`, {
      hint: 'install PostgreSQL 16 or newer from Debian or PGDG (pg_createcluster), then restart the agent',
    });
  }
  if (others.length > 0) {
    throw new PgduplexError('CLUSTER_AMBIGUOUS', `several PostgreSQL clusters found: ${describe(clusters)}`, {
      hint: `set "postgresql": {"version": "${only.version}", "cluster": "${only.name}"} in agent.json to choose one`,
    });
  }
  return only;
}

function describe(clusters: readonly Cluster[]): string {
  return clusters.length === 0 ? 'none' : clusters.map((c) => `${c.version}/${c.name}`).join(', ');
}

async function dirNames(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}
