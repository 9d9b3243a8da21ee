import type { ActionDescriptor } from './actions.js';
import type { ChangeDescriptor } from './change.js';
import {
  pairAcceptAction,
  pairConfirmAction,
  pairConnectAction,
  pairStatusAction,
  peerCallAction,
  peersListAction,
  unpairAction,
  whoamiAction,
} from './control.js';
import { pingAction, peerUnpairAction } from './actions.js';
import * as data from './data.js';
import { foreignAccessChange, foreignDropChange, slotCopyChange, subscriptionAdoptChange } from './adopt.js';
import { factsAction, hazardsAction } from './facts.js';
import { firewallChange, monitoringFirewallChange } from './firewall.js';
import { replicationForeignAction } from './foreign.js';
import { journalListAction, journalUndoAction } from './journal.js';
import * as pg from './postgres.js';
import * as repl from './replication-actions.js';
import * as migrate from './migrate.js';
import { pgClusterDropChange, pgUpgradeChange, upgradeFactsAction } from './upgrade.js';
import { rowsPushChange, rowsTakeChange, tablesSliceAction } from './rows.js';
import { watchGetAction, watchRecordAction } from './watch.js';
import { conflictsAdvanceAction, conflictsReadAction, rowsByKeyAction } from './conflicts.js';

/** Every journaled change, in the order setup first makes them. */
export const CHANGES: readonly ChangeDescriptor[] = [
  firewallChange,
  pg.pgSettingsChange,
  pg.pgHbaChange,
  pg.pgRoleChange,
  pg.pgPassfileChange,
  repl.replicaIdentityChange,
  data.extensionsChange,
  data.backupChange,
  data.backupRestoreChange,
  data.schemaImportChange,
  migrate.schemaCarryChange,
  migrate.replGrantChange,
  repl.sequencesChange,
  repl.publicationChange,
  repl.subscriptionChange,
  repl.subscriptionDropChange,
  repl.slotDropChange,
  slotCopyChange,
  subscriptionAdoptChange,
  foreignDropChange,
  foreignAccessChange,
  monitoringFirewallChange,
  rowsTakeChange,
  rowsPushChange,
  pgUpgradeChange,
  pgClusterDropChange,
];

/** Every other action: reads, and state changes that are not journaled (pairing, restarts, undo itself). */
export const ACTIONS: readonly ActionDescriptor[] = [
  pingAction,
  peerUnpairAction,
  whoamiAction,
  pairAcceptAction,
  pairConfirmAction,
  pairStatusAction,
  pairConnectAction,
  peersListAction,
  unpairAction,
  peerCallAction,
  factsAction,
  hazardsAction,
  journalListAction,
  journalUndoAction,
  pg.pgServiceReloadAction,
  pg.pgServiceRestartAction,
  pg.pgReachAction,
  pg.credentialsStatusAction,
  repl.replicationStatusAction,
  repl.replicationErrorsAction,
  replicationForeignAction,
  repl.subscriptionStatusAction,
  repl.sequencesStatusAction,
  data.schemaExportAction,
  data.schemaDigestAction,
  data.tablesChecksumAction,
  data.tablesDiffAction,
  tablesSliceAction,
  data.verifiedGetAction,
  data.verifiedSetAction,
  migrate.schemaModelAction,
  migrate.schemaHeldAction,
  migrate.schemaReleaseAction,
  migrate.columnsTouchAction,
  migrate.subscriptionRefreshAction,
  watchGetAction,
  watchRecordAction,
  conflictsReadAction,
  conflictsAdvanceAction,
  rowsByKeyAction,
  upgradeFactsAction,
];

/** The change a journal entry was made by, under its name or one it had in an earlier version. */
export function changeNamed(name: string): ChangeDescriptor | undefined {
  return CHANGES.find((c) => c.name === name || c.aliases?.includes(name));
}
