import type { z } from 'zod';
import { changeHandlers, journalHandlers, type ChangeAction } from './change.js';
import type { AgentServices } from './context.js';
import { backupRestoreAction } from './backup-restore.js';
import { backupAction } from './backup.js';
import { factsHandler } from './facts.js';
import { publicationAction } from './publication.js';
import { credentialsStatusHandler } from './credentials-status.js';
import { hazardsHandler } from './hazards.js';
import { replicaIdentityAction } from './replica-identity.js';
import { replicationStatusHandler } from './replication-status.js';
import { replicationErrorsHandler } from './replication-errors.js';
import { tableChecksumsHandler } from './table-checksums.js';
import { schemaExportHandler, schemaImportAction } from './schema.js';
import { extensionsAction } from './extensions.js';
import { sequencesAction, sequencesStatusHandler } from './sequences.js';
import { schemaDigestHandler } from './schema-digest.js';
import { tableDiffHandler } from './table-diff.js';
import { slotDropAction, subscriptionDropAction } from './teardown-ops.js';
import { pgPassfileAction } from './pg-passfile.js';
import { subscriptionAction, subscriptionStatusHandler } from './subscription.js';
import { firewallAction } from './firewall.js';
import { pairAcceptHandler } from './pair-accept.js';
import { pgHbaAction } from './pg-hba.js';
import { pgReachHandler } from './pg-reach.js';
import { pgRoleAction } from './pg-role.js';
import { peerCallHandler } from './peer-call.js';
import { pgServiceHandlers } from './pg-service.js';
import { pgSettingsAction } from './pg-settings.js';
import { pairConfirmHandler } from './pair-confirm.js';
import { pairConnectHandler } from './pair-connect.js';
import { pairStatusHandler } from './pair-status.js';
import { peerUnpairHandler } from './peer-unpair.js';
import { peersListHandler } from './peers-list.js';
import { pingHandler } from './ping.js';
import { ActionRegistry, type ActionHandler } from './registry.js';
import { unpairHandler } from './unpair.js';
import { verifiedHandlers } from './verified.js';
import { whoamiHandler } from './whoami.js';

/** Every action the agent knows, bound to its services. */
export function buildRegistry(s: AgentServices): ActionRegistry {
  const handlers = [
    pingHandler(s),
    factsHandler(s),
    whoamiHandler(s),
    pairAcceptHandler(s),
    pairStatusHandler(s),
    pairConfirmHandler(s),
    pairConnectHandler(s),
    peersListHandler(s),
    unpairHandler(s),
    peerUnpairHandler(s),
    peerCallHandler(s),
    subscriptionStatusHandler(s),
    schemaExportHandler(s),
    replicationStatusHandler(s),
    replicationErrorsHandler(s),
    hazardsHandler(s),
    credentialsStatusHandler(s),
    tableChecksumsHandler(s),
    pgReachHandler(s),
    tableDiffHandler(s),
    sequencesStatusHandler(s),
    schemaDigestHandler(s),
    ...pgServiceHandlers(s),
    ...verifiedHandlers(s),
  ] as unknown as ActionHandler[];
  const changes = changeActions(s);
  for (const c of changes) handlers.push(...changeHandlers(c, s.journal));
  handlers.push(...journalHandlers(changes, s.journal));
  return new ActionRegistry().register(...handlers);
}

/** Every state-changing action, bound to its services: the registry's `.check`/`.apply` and what undo knows. */
export function changeActions(s: AgentServices): Array<ChangeAction<z.ZodType>> {
  return [
    firewallAction(s.limits.toolTimeoutMs),
    backupAction(s),
    backupRestoreAction(s),
    publicationAction(s),
    sequencesAction(s),
    replicaIdentityAction(s),
    pgPassfileAction(s),
    subscriptionAction(s),
    extensionsAction(s),
    schemaImportAction(s),
    subscriptionDropAction(s),
    slotDropAction(s),
    pgSettingsAction(s.postgresql, { timeoutMs: s.limits.toolTimeoutMs }),
    pgHbaAction({ postgresql: s.postgresql, timeoutMs: s.limits.toolTimeoutMs }),
    pgRoleAction({ postgresql: s.postgresql, timeoutMs: s.limits.toolTimeoutMs }),
  ] as unknown as Array<ChangeAction<z.ZodType>>;
}
