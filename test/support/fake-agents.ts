import type { Agents, Side } from '../../coordinator/setup/agents.js';
import type { ActionDescriptor } from '../../shared/protocol/actions.js';

/** What a fake answers, by action name: the coordinator under test calls with descriptors or names. */
export type FakeHandler = (side: Side, action: string, params: unknown) => unknown;

/** Two in-memory agents for coordinator unit tests; answers are not validated, so a fake may give only what a test reads. */
export function fakeAgents(handle: FakeHandler): Agents {
  const call = async (side: Side, action: ActionDescriptor | string, params: unknown) =>
    handle(side, typeof action === 'string' ? action : action.name, params);
  return { call } as Agents;
}
