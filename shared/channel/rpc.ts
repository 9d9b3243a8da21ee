import type { Logger } from '../log.js';
import { lenient } from '../protocol/lenient.js';
import { PgduplexError, toPgduplexError } from '../errors.js';
import type { ActionDescriptor } from '../protocol/actions.js';
import { MAX_CALL_JSON_BYTES, type ChannelMessage } from '../protocol/messages.js';
import type { z } from 'zod';
import type { SecureChannel } from './secure-channel.js';
import { jsonBytes, readJsonStream } from './json-stream.js';
import { sendStream, StreamInbox } from './streams.js';

/** What a running action may do besides returning: report progress to the caller. */
export interface ActionContext {
  progress(message: string, done?: number, total?: number): void;
  /** Who asked: 'local' (the CLI on this node) or 'peer' (the paired agent). */
  origin: 'local' | 'peer';
  /** The state-changing action this agent runs right now, if any (the registry fills it in). */
  running?: () => string | undefined;
  /** Bound to {peer, action, requestId} by whoever received the request. */
  log?: Logger;
}

const STREAM = Symbol('pgduplex.stream');

/** An action result that carries a byte stream (a dump, a backup) besides its JSON part. */
export interface StreamResult {
  [STREAM]: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  meta: Record<string, unknown>;
}

/** Wraps a result so the endpoint sends `meta` (plus a stream id) and then the bytes as chunks. */
export function streamResult(
  meta: Record<string, unknown>,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): StreamResult {
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
  /** The answer announces a stream (callStream): its id is expected the moment the answer arrives. */
  stream?: boolean;
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
    /** Params or a result too large for one frame go as a stream, up to this size. */
    private readonly maxJsonBytes = MAX_CALL_JSON_BYTES,
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
    const parsed = lenient(d.result).safeParse(raw);
    if (!parsed.success)
      throw new PgduplexError('AGENT_BAD_RESPONSE', `the peer's answer to ${d.name} does not match its schema`);
    return parsed.data;
  }

  /** Calls an action whose answer is a stream: the JSON part, then the bytes as they arrive. */
  async callStream(
    action: string,
    params: unknown,
    opts: { timeoutMs: number },
  ): Promise<{ meta: Record<string, unknown>; data: AsyncIterable<Uint8Array> }> {
    const result = (await this.callRaw(action, params, { ...opts, stream: true })) as Record<string, unknown> | null;
    const id = result?.['streamId'];
    if (typeof id !== 'number') throw new PgduplexError('AGENT_BAD_RESPONSE', `${action} did not answer with a stream`);
    return { meta: result ?? {}, data: this.inbox.take(id) };
  }

  /** Calls by name with unchecked params; used to relay the CLI's requests to the peer. */
  callRaw(
    action: string,
    params: unknown,
    opts: { timeoutMs: number; onProgress?: (message: string) => void; stream?: boolean },
  ): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PgduplexError('TIMEOUT', `the peer did not answer ${action} within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      this.pending.set(id, { resolve, reject, onProgress: opts.onProgress, timer, stream: opts.stream === true });
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(toPgduplexError(err));
      };
      try {
        this.sendOrStream(
          { type: 'request', id, action, params },
          params,
          (stream) => ({ type: 'request-stream', id, action, stream }),
          fail,
        );
      } catch (err) {
        fail(err);
      }
    });
  }

  private onMessage(m: ChannelMessage): void {
    if (m.type === 'request') return void this.serve(m.id, m.action, m.params);
    if (m.type === 'progress') return this.pending.get(m.id)?.onProgress?.(m.message);
    // Streams are expected only where a message names them: an answer to a call of ours, or a large request.
    if (m.type === 'result-stream') {
      if (m.id >= this.nextId)
        return this.channel.abort(new PgduplexError('FRAME_INVALID', `answer to request ${m.id}, never sent`));
      if (this.inbox.expect(m.stream)) void this.receiveLarge(m.id, m.stream);
      return;
    }
    if (m.type === 'request-stream') {
      if (this.inbox.expect(m.stream)) void this.serveLarge(m.id, m.action, m.stream);
      return;
    }
    if (m.type !== 'response') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    const streamId = m.ok ? (m.result as Record<string, unknown> | null)?.['streamId'] : undefined;
    if (typeof streamId === 'number') {
      if (!this.inbox.expect(streamId)) return;
      // An answer with a stream to a plain call (a relayed peer.call): its bytes are read and dropped.
      if (!p.stream) void this.drain(streamId);
    }
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(PgduplexError.fromJSON(m.error));
  }

  /**
   * Sends `message`; one too large for a frame goes as `header` and then `value` as a stream of its
   * JSON, so no request or answer is too large to send; `fail` hears of a stream that broke off.
   */
  private sendOrStream(
    message: ChannelMessage,
    value: unknown,
    header: (stream: number) => ChannelMessage,
    fail: (err: unknown) => void,
  ): void {
    try {
      return this.channel.send(message);
    } catch (err) {
      if (!(err instanceof PgduplexError && err.code === 'FRAME_TOO_LARGE')) throw err;
    }
    const stream = this.nextStream++;
    const what = message.type === 'request' ? `the request for ${message.action}` : 'the answer';
    const json = jsonBytes(value, this.maxJsonBytes, what);
    this.channel.send(header(stream));
    sendStream(this.channel, stream, [json]).catch(fail);
  }

  private async drain(stream: number): Promise<void> {
    try {
      for await (const _ of this.inbox.take(stream));
    } catch {
      // The channel closed; its callers hear of it.
    }
  }

  private async receiveLarge(id: number, stream: number): Promise<void> {
    const got = await readJsonStream(this.inbox, stream, this.maxJsonBytes, "the peer's answer");
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in got) p.reject(got.error);
    else p.resolve(got.value);
  }

  private async serveLarge(id: number, action: string, stream: number): Promise<void> {
    const got = await readJsonStream(this.inbox, stream, this.maxJsonBytes, `the request for ${action}`);
    if ('value' in got) return this.serve(id, action, got.value);
    if (!this.channel.isClosed) this.channel.send({ type: 'response', id, ok: false, error: got.error.toJSON() });
  }

  private async serve(id: number, action: string, params: unknown): Promise<void> {
    const reply = (m: ChannelMessage): void => {
      if (!this.channel.isClosed) this.channel.send(m);
    };
    if (!this.dispatch)
      return reply({
        type: 'response',
        id,
        ok: false,
        error: new PgduplexError('UNKNOWN_ACTION', 'this side serves no actions').toJSON(),
      });
    try {
      const result = await this.dispatch(action, params, {
        origin: 'peer',
        progress: (message, done, total) =>
          reply({
            type: 'progress',
            id,
            message,
            ...(done === undefined ? {} : { done }),
            ...(total === undefined ? {} : { total }),
          }),
      });
      if (!isStreamResult(result)) {
        if (!this.channel.isClosed)
          this.sendOrStream(
            { type: 'response', id, ok: true, result },
            result,
            (stream) => ({ type: 'result-stream', id, stream }),
            () => undefined,
          );
        return;
      }
      const streamId = this.nextStream++;
      reply({ type: 'response', id, ok: true, result: { ...result.meta, streamId } });
      await sendStream(this.channel, streamId, result[STREAM]);
    } catch (err) {
      reply({ type: 'response', id, ok: false, error: toPgduplexError(err).toJSON() });
    }
  }
}
