import { z } from 'zod';
import { defineAction } from '../../shared/protocol/actions.js';
import { resolveCluster } from '../postgres/cluster.js';
import { queryJson } from '../postgres/psql.js';
import type { AgentServices } from './context.js';
import { PASSFILE_NAME } from './pg-passfile.js';
import { defineHandler } from './registry.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { plainIdentifier as ident } from '../../shared/protocol/identifier.js';

/** Setup's re-run test for the replication credentials: the role exists and the passfile names the peer. */
export const credentialsStatusAction = defineAction({
  name: 'credentials.status',
  mutates: false,
  params: z.strictObject({ role: ident, peer: z.strictObject({ host: z.string().max(45), port: z.number().int(), database: ident }) }),
  result: z.strictObject({ roleExists: z.boolean(), passfileHasPeer: z.boolean() }),
});

/** Answers without revealing anything: never the password, only whether one is in place. */
export const credentialsStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: credentialsStatusAction,
    callers: ['local', 'peer'],
    run: async ({ role, peer }) => {
      const cluster = await resolveCluster(s.postgresql);
      const roleExists = await queryJson<boolean>(cluster, `select to_json(exists(select 1 from pg_roles where rolname = :'role' and rolcanlogin and rolreplication))`, { timeoutMs: s.limits.toolTimeoutMs, vars: { role } });
      const text = await readFile(join(cluster.configDir, PASSFILE_NAME), 'utf8').catch(() => '');
      const key = `${peer.host.replace(/:/g, '\\:')}:${peer.port}:${peer.database}:${role}:`;
      return { roleExists, passfileHasPeer: text.split('\n').some((l) => l.startsWith(key)) };
    },
  });
