import { PgduplexError } from '../../shared/errors.js';
import { lenient } from '../../shared/protocol/lenient.js';
import { retry } from '../../shared/poll.js';
import { type ActionDescriptor, type ParamsOf, type ResultOf } from '../../shared/protocol/actions.js';
import { peerCallAction } from '../../shared/protocol/control.js';
import { callAgent } from '../agent-client.js';

/** Which of the two agents a step runs on, from the point of view of the node the CLI runs on. */
export type Side = 'local' | 'peer';

/** How long a call may take, and where its progress events go. */
export interface CallOptions {
  timeoutMs?: number;
  onProgress?: (m: string) => void;
}

/** Calls a catalogue action on either agent: locally over the socket, or relayed to the peer; answers are validated. */
export interface Agents {
  call<D extends ActionDescriptor>(
    side: Side,
    action: D,
    params: ParamsOf<D>,
    opts?: CallOptions,
  ): Promise<ResultOf<D>>;
}

/** How long a call waits out an agent still busy with an earlier run's action (e.g. a backup a killed CLI started). */
export interface BusyPolicy {
  onWait?: (message: string) => void;
  waitMs?: number;
  pollMs?: number;
}

/** The two agents as the CLI on this node reaches them (the peer only through the local agent). */
export function agentsVia(socket: string, busy: BusyPolicy = {}): Agents {
  const send = async (side: Side, d: ActionDescriptor, params: unknown, opts: CallOptions): Promise<unknown> => {
    const o = {
      timeoutMs: opts.timeoutMs ?? 120_000,
      ...(opts.onProgress ? { onProgress: (e: { message: string }) => opts.onProgress?.(e.message) } : {}),
    };
    if (side === 'local') return callAgent(socket, d, params, o);
    // The relay waits as long as we do, and we a little longer, so the peer's own timeout error reaches us first.
    const answer = await callAgent(
      socket,
      peerCallAction,
      { action: d.name, params, timeoutMs: o.timeoutMs },
      { ...o, timeoutMs: o.timeoutMs + 5000 },
    );
    const parsed = lenient(d.result).safeParse(answer);
    if (parsed.success) return parsed.data;
    throw new PgduplexError('AGENT_BAD_RESPONSE', `the peer's agent answered ${d.name} with something unexpected`, {
      hint: 'are both nodes on the same pgduplex version? (pgduplex status shows both)',
    });
  };
  // An agent of an earlier version knows the action by its old name.
  const once = async (side: Side, d: ActionDescriptor, params: unknown, opts: CallOptions): Promise<unknown> => {
    for (const [i, name] of [d.name, ...(d.aliases ?? [])].entries()) {
      try {
        return await send(side, i === 0 ? d : { ...d, name }, params, opts);
      } catch (err) {
        if (!(err instanceof PgduplexError && err.code === 'UNKNOWN_ACTION') || i === (d.aliases?.length ?? 0))
          throw err;
      }
    }
    throw new PgduplexError('INTERNAL', `no name left to call ${d.name} by`);
  };
  const call = async (side: Side, d: ActionDescriptor, params: unknown, opts: CallOptions = {}): Promise<unknown> => {
    let told = '';
    return retry(() => once(side, d, params, opts), {
      timeoutMs: busy.waitMs ?? 6 * 3_600_000,
      intervalMs: busy.pollMs ?? 2000,
      retriable: (err) => err instanceof PgduplexError && err.code === 'BUSY',
      onRetry: (err) => {
        const message = (err as PgduplexError).message;
        if (message !== told) busy.onWait?.(`waiting: ${side === 'local' ? 'this' : 'the peer'} agent says ${message}`);
        told = message;
      },
    });
  };
  return { call } as Agents;
}
