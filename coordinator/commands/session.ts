import { agentsVia } from '../setup/agents.js';
import { taskLog } from '../render/tasks.js';

/** Why: every long command starts the same way: its task log, whether it may ask, its clock and both agents. */
export function commandSession(socket: string, json: boolean) {
  const log = taskLog(json);
  return {
    ...log,
    interactive: process.stdin.isTTY === true && !json,
    started: Date.now(),
    agents: agentsVia(socket, { onWait: (m) => log.report('...', '', m) }),
  };
}
