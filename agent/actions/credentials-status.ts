import { credentialsStatusAction } from '../../shared/protocol/postgres.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import type { AgentServices } from './context.js';
import { PASSFILE_NAME } from './pg-passfile.js';
import { defineHandler } from './registry.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Answers without revealing anything: never the password, only whether one is in place. */
export const credentialsStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: credentialsStatusAction,
    run: async ({ role, peer }) => {
      const cluster = await resolveCluster(s.postgresql);
      const roleExists = await queryJson<boolean>(
        cluster,
        `select to_json(exists(select 1 from pg_roles where rolname = :'role' and rolcanlogin and rolreplication))`,
        { timeoutMs: s.limits.toolTimeoutMs, vars: { role } },
      );
      const text = await readFile(join(cluster.configDir, PASSFILE_NAME), 'utf8').catch(() => '');
      const key = `${peer.host.replace(/:/g, '\\:')}:${peer.port}:${peer.database}:${role}:`;
      return { roleExists, passfileHasPeer: text.split('\n').some((l) => l.startsWith(key)) };
    },
  });
