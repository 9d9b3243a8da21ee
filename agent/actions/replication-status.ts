import { replicationStatusAction } from '../../shared/protocol/replication-actions.js';
import { type ReplicationSnapshot } from '../../shared/replication.js';
import { resolveCluster } from '../postgres/cluster.js';
import { replicationStatusSql } from '../postgres/replication-sql.js';
import { queryJsonFor } from '../postgres/server-version.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Runs replication.status on the local cluster. */
export const replicationStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: replicationStatusAction,
    run: async ({ database }) =>
      queryJsonFor<ReplicationSnapshot>(await resolveCluster(s.postgresql), replicationStatusSql, {
        timeoutMs: s.limits.toolTimeoutMs,
        ...(database ? { database } : {}),
      }),
  });
