import { pgClusterDropAction, pgUpgradeActions } from './pg-upgrade.js';
import { changeHandlers, journalHandlers, undoJournalEntry, type ChangeAction } from './change.js';
import type { AgentServices } from './context.js';
import { backupRestoreAction } from './backup-restore.js';
import { backupAction } from './backup.js';
import { factsHandler } from './facts.js';
import { foreignAccessAction } from './foreign-access.js';
import { foreignDropAction } from './foreign-drop.js';
import { publicationAction } from './publication.js';
import { credentialsStatusHandler } from './credentials-status.js';
import { hazardsHandler } from './hazards.js';
import { replicaIdentityAction } from './replica-identity.js';
import { replicationStatusHandler } from './replication-status.js';
import { replicationErrorsHandler } from './replication-errors.js';
import { replicationForeignHandler } from './replication-foreign.js';
import { tableChecksumsHandler } from './table-checksums.js';
import { schemaExportHandler, schemaImportAction } from './schema.js';
import { schemaCarryAction } from './schema-carry.js';
import { replGrantAction } from './repl-grant.js';
import { migrateHandlers } from './migrate-ops.js';
import { extensionsAction } from './extensions.js';
import { sequencesAction, sequencesStatusHandler } from './sequences.js';
import { schemaDigestHandler } from './schema-digest.js';
import { tableDiffHandler } from './table-diff.js';
import { tableSliceHandler } from './table-slice.js';
import { rowsPushAction } from './rows-push.js';
import { rowsTakeAction } from './rows-take.js';
import { slotCopyAction } from './slot-copy.js';
import { subscriptionAdoptAction } from './subscription-adopt.js';
import { slotDropAction, subscriptionDropAction } from './teardown-ops.js';
import { pgPassfileAction } from './pg-passfile.js';
import { subscriptionAction, subscriptionStatusHandler } from './subscription.js';
import { firewallAction } from './firewall.js';
import { monitoringFirewallAction } from './monitoring-firewall.js';
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
import { peerGate } from '../peer/peer-gate.js';
import { unpairHandler } from './unpair.js';
import { verifiedHandlers } from './verified.js';
import { whoamiHandler } from './whoami.js';
import { watchHandlers } from './watch-state.js';
import { conflictHandlers } from './conflicts.js';

/** Every action the agent knows, bound to its services. */
export function buildRegistry(s: AgentServices): ActionRegistry {
  const upgrade = pgUpgradeActions(s);
  const changes: ChangeAction[] = [
    firewallAction,
    monitoringFirewallAction,
    backupAction,
    backupRestoreAction,
    publicationAction,
    sequencesAction,
    replicaIdentityAction,
    pgPassfileAction,
    subscriptionAction,
    extensionsAction,
    schemaImportAction,
    schemaCarryAction,
    replGrantAction,
    subscriptionDropAction,
    slotDropAction,
    slotCopyAction,
    subscriptionAdoptAction,
    foreignDropAction,
    foreignAccessAction,
    pgSettingsAction,
    pgHbaAction,
    pgRoleAction,
    rowsTakeAction,
    rowsPushAction,
    pgClusterDropAction,
  ]
    .map((action) => erase(action(s)))
    .concat(erase(upgrade.change));
  const handlers: ActionHandler[] = [
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
    ...migrateHandlers(s),
    replicationStatusHandler(s),
    replicationErrorsHandler(s),
    replicationForeignHandler(s),
    hazardsHandler(s),
    credentialsStatusHandler(s),
    tableChecksumsHandler(s),
    pgReachHandler(s),
    tableDiffHandler(s),
    tableSliceHandler(s),
    sequencesStatusHandler(s),
    schemaDigestHandler(s),
    ...pgServiceHandlers(s, (id) => undoJournalEntry(changes, s.journal, id)),
    ...verifiedHandlers(s),
    ...watchHandlers(s),
    ...conflictHandlers(s),
    upgrade.factsHandler,
  ].map(erase);
  for (const c of changes) handlers.push(...changeHandlers(c, s.journal, () => s.trust.peer?.fingerprint));
  handlers.push(...journalHandlers(changes, s.journal));
  const registry = new ActionRegistry().register(...handlers);
  registry.peerGate = peerGate(s);
  registry.maxPeerReads = s.limits.maxConcurrentPeerCalls ?? registry.maxPeerReads;
  return registry;
}

/**
 * Forgets an action's own types once it is bound: the registry validates params and result with the
 * descriptor at run time, so it holds them all as one type.
 */
function erase<T extends { descriptor: unknown }>(typed: T): T extends ChangeAction ? ChangeAction : ActionHandler {
  return typed as never;
}
