// Journal entries outlive the agent that wrote them: an upgraded agent must still undo what an
// earlier release journaled, under the name that release used.

/**
 * Why: a renamed change action stays undoable. Maps the name an earlier release journaled to today's
 * name; add a line here whenever a change action is renamed (its old `.apply` name is gone, its journal
 * entries are not). Empty while no change action has been renamed since 0.1.0.
 */
export const RENAMED_ACTIONS: ReadonlyMap<string, string> = new Map<string, string>([]);

/** Why: teardown's plan and the agent's undo both reason about today's names, whatever wrote the entry. */
export const currentActionName = (journaled: string): string => RENAMED_ACTIONS.get(journaled) ?? journaled;

/**
 * Why: the change actions pgduplex 0.1.0 journals (`journal.list`'s `action`); every later agent must
 * undo each of them, under this name or through RENAMED_ACTIONS (a unit test holds it to that).
 */
export const JOURNALED_BY_0_1_0: readonly string[] = [
  'firewall', 'backup', 'backup-restore', 'publication', 'sequences', 'replica-identity', 'pg-passfile',
  'subscription', 'extensions', 'schema-import', 'subscription-drop', 'slot-drop', 'pg-settings', 'pg-hba', 'pg-role',
];
