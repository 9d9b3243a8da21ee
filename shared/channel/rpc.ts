import { PgduplexError, toPgduplexError } from '../errors.js';
import type { ActionDescriptor } from '../protocol/actions.js';
import type { ChannelMessage } from '../protocol/messages.js';
import type { z } from 'zod';
import type { SecureChannel } from './secure-channel.js';
import { sendStream, StreamInbox } from './streams.js';

/** What a running action may do besides returning: report progress to the caller. */
export interface ActionContext {
  progress(message: string, done?: number, total?: number): void;
  /** Who asked: 'local' (the CLI on this node) or 'peer' (the paired agent). */
  origin: 'local' | 'peer';
}

const STREAM = Symbol('pgduplex.stream');

/** An action result that carries a byte stream (a dump, a backup) besides its JSON part. */
export interface StreamResult {
  [STREAM]: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  meta: Record<string, unknown>;
}

/** Wraps a result so the endpoint sends `meta` (plus a stream id) and then the bytes as chunks. */
export function streamResult(meta: Record<string, unknown>, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): StreamResult {
  return { [STREAM]: source, meta };
}

function isStreamResult(value: unknown): value is StreamResult {
  return typeof value === 'object' && value !== null && STREAM in value;
}

/** Runs an action by name; the agent's registry implements it, the coordinator side passes none. */
export type Dispatch = (action: string, params: unknown, ctx: ActionContext) => Promise<unknown>;

interface Pending {
  resolve(value: unknown): void;
  reject(err: PgduplexError): void;
  onProgress: ((message: string) => void) | undefined;
  timer: NodeJS.Timeout;
}

/** Request/response over a SecureChannel: typed calls out, dispatched requests in. */
export class RpcEndpoint {
  private nextId = 1;
  private nextStream = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly inbox: StreamInbox;

  constructor(
    private readonly channel: SecureChannel,
    private readonly dispatch: Dispatch | undefined,
    maxBufferedStreamBytes = 8 * 1024 * 1024,
    private readonly maxResultBytes = 1024 * 1024,
  ) {
    this.inbox = new StreamInbox(channel, maxBufferedStreamBytes);
    channel.onMessage((m) => this.onMessage(m));
    channel.onClose((reason) => {
      const err = new PgduplexError('AGENT_UNREACHABLE', `the peer channel closed${reason ? ` (${reason.code})` : ''}`);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(err);
      }
      this.pending.clear();
    });
  }

  /** Calls an action on the other side; the result is validated against the descriptor. */
  async call<P extends z.ZodType, R extends z.ZodType>(
    d: ActionDescriptor<P, R>,
    params: z.input<P>,
    opts: { timeoutMs: number; onProgress?: (message: string) => void },
  ): Promise<z.output<R>> {
    const raw = await this.callRaw(d.name, params, opts);
    const parsed = d.result.safeParse(raw);
    if (!parsed.success) throw new PgduplexError('AGENT_BAD_RESPONSE', `the peer's answer to ${d.name} does not match its schema`);
    return parsed.data;
  }

  /** Calls an action whose answer is a stream: the JSON part, then the bytes as they arrive. */
  async callStream(action: string, params: unknown, opts: { timeoutMs: number }): Promise<{ meta: Record<string, unknown>; data: AsyncIterable<Uint8Array> }> {
    const result = (await this.callRaw(action, params, opts)) as Record<string, unknown> | null;
    const id = result?.['streamId'];
    if (typeof id !== 'number') throw new PgduplexError('AGENT_BAD_RESPONSE', `${action} did not answer with a stream`);
    return { meta: result ?? {}, data: this.inbox.take(id) };
  }

  /** Calls by name with unchecked params; used to relay the CLI's requests to the peer. */
  callRaw(action: string, params: unknown, opts: { timeoutMs: number; onProgress?: (message: string) => void }): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PgduplexError('TIMEOUT', `the peer did not answer ${action} within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      this.pending.set(id, { resolve, reject, onProgress: opts.onProgress, timer });
      try {
        this.channel.send({ type: 'request', id, action, params });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(toPgduplexError(err));
      }
    });
  }

  private onMessage(m: ChannelMessage): void {
    if (m.type === 'request') return void this.serve(m.id, m.action, m.params);
    if (m.type === 'progress') return this.pending.get(m.id)?.onProgress?.(m.message);
    if (m.type === 'result-stream') return void this.receiveLarge(m.id, m.stream);
    if (m.type !== 'response') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(PgduplexError.fromJSON(m.error));
  }

  /** A result larger than a frame goes as a stream of its JSON, so no answer is ever too large to send. */
  private async respond(id: number, result: unknown, reply: (m: ChannelMessage) => void): Promise<void> {
    try {
      return reply({ type: 'response', id, ok: true, result });
    } catch (err) {
      if (!(err instanceof PgduplexError && err.code === 'FRAME_TOO_LARGE')) throw err;
    }
    const json = new TextEncoder().encode(JSON.stringify(result));
    if (json.length > this.maxResultBytes) throw new PgduplexError('FRAME_TOO_LARGE', `the answer is ${json.length} bytes, more than the ${this.maxResultBytes} a result may have`);
    const stream = this.nextStream++;
    reply({ type: 'result-stream', id, stream });
    await sendStream(this.channel, stream, [json]);
  }

  private async receiveLarge(id: number, stream: number): Promise<void> {
    const parts: Uint8Array[] = [];
    let size = 0;
    let failure: PgduplexError | undefined;
    try {
      // Read to the end even when too large or no longer awaited: unread chunks would fill the inbox.
      for await (const part of this.inbox.take(stream)) {
        size += part.length;
        if (size <= this.maxResultBytes) parts.push(part);
      }
    } catch (err) {
      failure = toPgduplexError(err);
    }
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (failure) return p.reject(failure);
    if (size > this.maxResultBytes) return p.reject(new PgduplexError('FRAME_TOO_LARGE', `the peer's answer is ${size} bytes, more than the ${this.maxResultBytes} a result may have`));
    try {
      p.resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown);
    } catch {
      p.reject(new PgduplexError('AGENT_BAD_RESPONSE', "the peer's streamed answer is not JSON"));
    }
  }

  private async serve(id: number, action: string, params: unknown): Promise<void> {
    const reply = (m: ChannelMessage): void => {
      if (!this.channel.isClosed) this.channel.send(m);
    };
    if (!this.dispatch) return reply({ type: 'response', id, ok: false, error: new PgduplexError('UNKNOWN_ACTION', 'this side serves no actions').toJSON() });
    try {
      const result = await this.dispatch(action, params, {
        origin: 'peer',
        progress: (message, done, total) => reply({ type: 'progress', id, message, ...(done === undefined ? {} : { done }), ...(total === undefined ? {} : { total }) }),
      });
      if (!isStreamResult(result)) return await this.respond(id, result, reply);
      const streamId = this.nextStream++;
      reply({ type: 'response', id, ok: true, result: { ...result.meta, streamId } });
      await sendStream(this.channel, streamId, result[STREAM]);
    } catch (err) {
      reply({ type: 'response', id, ok: false, error: toPgduplexError(err).toJSON() });
    }
  }
}
