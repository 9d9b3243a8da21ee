import { toPgduplexError } from '../../shared/errors.js';
import type { PostgresHealth } from '../../shared/health.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';

/** Who the local server is, for /health. */
export const PROBE_SQL = `select json_build_object(
  'serverVersion', current_setting('server_version'),
  'serverVersionNum', current_setting('server_version_num')::int,
  'walLevel', current_setting('wal_level'),
  'dataDirectory', current_setting('data_directory'),
  'inRecovery', pg_is_in_recovery())`;

interface ProbeFacts {
  serverVersion: string;
  serverVersionNum: number;
  walLevel: string;
  dataDirectory: string;
  inRecovery: boolean;
}

/** Asks the local cluster who it is; any failure becomes a not-ready verdict with the reason. */
export async function probePostgres(
  wanted: { version: string; cluster: string } | undefined,
  timeoutMs: number,
): Promise<{ health: PostgresHealth; cluster?: Cluster }> {
  const checkedAt = new Date().toISOString();
  let cluster: Cluster;
  try {
    cluster = await resolveCluster(wanted);
  } catch (err) {
    const e = toPgduplexError(err);
    return { health: { ready: false, code: e.code, reason: withHint(e.message, e.hint), checkedAt } };
  }
  const clusterFacts = {
    version: cluster.version,
    name: cluster.name,
    configDir: cluster.configDir,
    dataDir: cluster.dataDir,
    port: cluster.port,
    service: cluster.service,
  };
  try {
    const facts = await queryJson<ProbeFacts>(cluster, PROBE_SQL, { timeoutMs });
    return { health: { ready: true, cluster: clusterFacts, ...facts, checkedAt }, cluster };
  } catch (err) {
    const e = toPgduplexError(err);
    return {
      health: { ready: false, code: e.code, reason: withHint(e.message, e.hint), cluster: clusterFacts, checkedAt },
      cluster,
    };
  }
}

function withHint(message: string, hint: string | undefined): string {
  return hint === undefined ? message : `${message} (${hint})`;
}
