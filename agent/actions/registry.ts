import { PgduplexError } from '../../shared/errors.js';
import type { ActionContext, Dispatch } from '../../shared/channel/rpc.js';
import type { ActionDescriptor } from '../../shared/protocol/actions.js';
import type { z } from 'zod';
import { ActionOutcomes } from './outcomes.js';

/** An action's implementation beside its descriptor; who may call it is the descriptor's to say. */
export interface ActionHandler<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  descriptor: ActionDescriptor<P, R>;
  run(params: z.output<P>, ctx: ActionContext): Promise<z.input<R>>;
}

/** Declares a handler typed by its catalogue descriptor: a params or result mismatch does not compile. */
export function defineHandler<P extends z.ZodType, R extends z.ZodType>(h: ActionHandler<P, R>): ActionHandler<P, R> {
  return h;
}

/**
 * The agent's action table. Lookup is a Map, so `__proto__` or `toString` are unknown actions;
 * params are validated before a handler runs; state-changing actions run one at a time.
 */
export class ActionRegistry {
  private readonly handlers = new Map<string, ActionHandler>();
  /** Checks every peer request against this node's pair policy before it runs (set by the composition root). */
  peerGate: ((d: ActionDescriptor, params: unknown, ctx: ActionContext) => Promise<void>) | undefined;
  private running: string | undefined;
  /** Reads the peer runs here now, and how many it may (limits.maxConcurrentPeerCalls). */
  private peerReads = 0;
  maxPeerReads = 8;
  private draining = false;
  private idle: (() => void) | undefined;
  /** Each known action's last result, for /metrics. */
  readonly outcomes = new ActionOutcomes();

  register(...handlers: ActionHandler[]): this {
    for (const h of handlers) {
      for (const name of [h.descriptor.name, ...(h.descriptor.aliases ?? [])]) {
        if (this.handlers.has(name)) throw new Error(`action ${name} registered twice`);
        this.handlers.set(name, h);
      }
    }
    return this;
  }

  names(): string[] {
    return [...new Set([...this.handlers.values()].map((h) => h.descriptor.name))].sort();
  }

  readonly dispatch: Dispatch = async (action, params, ctx) => {
    const handler = this.handlers.get(action);
    if (handler === undefined || !handler.descriptor.callers.includes(ctx.origin)) {
      throw new PgduplexError('UNKNOWN_ACTION', `unknown action ${JSON.stringify(action.slice(0, 64))}`);
    }
    try {
      const result = await this.run(handler, handler.descriptor.name, params, ctx);
      this.outcomes.record(handler.descriptor.name, true);
      return result;
    } catch (err) {
      this.outcomes.record(handler.descriptor.name, false);
      throw err;
    }
  };

  private async run(handler: ActionHandler, action: string, params: unknown, ctx: ActionContext): Promise<unknown> {
    const parsed = handler.descriptor.params.safeParse(params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PgduplexError(
        'BAD_PARAMS',
        `bad params for ${action}: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid'}`,
      );
    }
    if (ctx.origin === 'peer' && !handler.descriptor.mutates) return this.peerRead(handler, action, parsed.data, ctx);
    if (ctx.origin === 'peer') await this.gate(handler, action, parsed.data, ctx);
    if (!handler.descriptor.mutates)
      return handler.descriptor.result.parse(await handler.run(parsed.data, { ...ctx, running: () => this.running }));
    if (this.draining)
      throw new PgduplexError('BUSY', 'the agent is stopping', { hint: 'retry once it is back (systemd restarts it)' });
    if (this.running !== undefined) {
      throw new PgduplexError('BUSY', `another action is running on this agent: ${this.running}`, {
        hint: 'wait for it to finish, then retry',
      });
    }
    this.running = action;
    try {
      return handler.descriptor.result.parse(await handler.run(parsed.data, ctx));
    } finally {
      this.running = undefined;
      this.idle?.();
    }
  }

  /** A peer's read, its policy check included, within the cap on reads the peer runs here at once. */
  private async peerRead(
    handler: ActionHandler,
    action: string,
    params: unknown,
    ctx: ActionContext,
  ): Promise<unknown> {
    if (this.peerReads >= this.maxPeerReads)
      throw new PgduplexError('BUSY', `the peer already runs ${this.peerReads} calls here; ${action} was not started`, {
        hint: `at most ${this.maxPeerReads} at once (limits.maxConcurrentPeerCalls in agent.json); retry when one ends`,
      });
    this.peerReads += 1;
    try {
      await this.gate(handler, action, params, ctx);
      return handler.descriptor.result.parse(await handler.run(params, { ...ctx, running: () => this.running }));
    } finally {
      this.peerReads -= 1;
    }
  }

  private async gate(handler: ActionHandler, action: string, params: unknown, ctx: ActionContext): Promise<void> {
    if (!this.peerGate) throw new PgduplexError('PEER_NOT_ALLOWED', `${action} is not open to the peer here`);
    await this.peerGate(handler.descriptor, params, ctx);
  }

  /**
   * Refuses new state-changing actions and resolves once the running one (if any) has finished, or
   * after `limitMs`: a stop never cuts a change off between doing it and journaling it. Resolves to
   * the action still running when the limit passed.
   */
  drain(limitMs: number): Promise<string | undefined> {
    this.draining = true;
    if (this.running === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.running), limitMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
    });
  }
}
