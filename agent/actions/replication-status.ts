import { replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import { type ReplicationSnapshot } from '../../shared/replication.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import { REPLICATION_STATUS_SQL } from '../postgres/replication-sql.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Runs replication.status on the local cluster. */
export const replicationStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: replicationStatusAction,
    run: async ({ database }) =>
      queryJson<ReplicationSnapshot>(await resolveCluster(s.postgresql), REPLICATION_STATUS_SQL, {
        timeoutMs: s.limits.toolTimeoutMs,
        ...(database ? { database } : {}),
      }),
  });
