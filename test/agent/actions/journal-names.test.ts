import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { undoTargets, type ChangeAction } from '../../../agent/actions/change.js';
import type { AgentServices } from '../../../agent/actions/context.js';
import { changeActions } from '../../../agent/actions/index.js';
import { JOURNALED_BY_0_1_0, RENAMED_ACTIONS, currentActionName } from '../../../shared/protocol/action-names.js';

const fake = (name: string): ChangeAction<z.ZodType> => ({
  name,
  params: z.unknown(),
  check: async () => ({ changes: [] }),
  apply: async () => ({ changed: false, changes: [] }),
  undo: async () => [name],
});
const services = { limits: { toolTimeoutMs: 1000 }, postgresql: undefined } as unknown as AgentServices;

describe('journal entries written by an earlier release', () => {
  it('every action 0.1.0 journals is undoable by this agent, under its name or a rename', () => {
    const targets = undoTargets(changeActions(services));
    const missing = JOURNALED_BY_0_1_0.filter((name) => !targets.has(name));
    // A renamed change action needs its old name in RENAMED_ACTIONS, or 0.1.0's entries cannot be undone.
    expect(missing).toEqual([]);
    for (const name of JOURNALED_BY_0_1_0) expect(targets.get(name)?.name).toBe(currentActionName(name));
  });

  it('a renamed action undoes entries journaled under its old name, and planning uses the new name', async () => {
    const renamed = new Map([['pg-conf', 'postgresql.settings']]);
    const targets = undoTargets([fake('pg-settings'), fake('postgresql.settings')], renamed);
    expect(await targets.get('pg-conf')?.undo({})).toEqual(['postgresql.settings']);
    expect(targets.get('pg-settings')?.name).toBe('pg-settings');
    // An old name still taken by an action of its own keeps pointing at that action.
    expect(undoTargets([fake('a'), fake('b')], new Map([['a', 'b']])).get('a')?.name).toBe('a');
    expect(currentActionName('firewall')).toBe(RENAMED_ACTIONS.get('firewall') ?? 'firewall');
  });
});
