import { replicationErrorsAction } from '../../shared/protocol/replication-actions.js';
import { latestReplicationErrors, parseReplicationErrors } from '../postgres/apply-log.js';
import { resolveCluster } from '../postgres/cluster.js';
import { clusterLogPath, readLogSince } from '../postgres/settings-log.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** How much of the log's end is read: enough for minutes of a worker retrying every 5 s. */
const TAIL_BYTES = 512 * 1024;

/** Reads the log the cluster writes through pg_ctlcluster; works while PostgreSQL is down too. */
export const replicationErrorsHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: replicationErrorsAction,
    run: async () =>
      latestReplicationErrors(
        parseReplicationErrors(
          await readLogSince(await clusterLogPath(await resolveCluster(s.postgresql)), 0, TAIL_BYTES),
        ),
      ),
  });
