import { PgduplexError } from '../errors.js';
import type { Chunk } from './payload.js';
import type { SecureChannel } from './secure-channel.js';

/** Sends bytes as one numbered stream of bounded frames, with at most `window` frames unwritten. */
export async function sendStream(
  channel: SecureChannel,
  stream: number,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  window = 16,
): Promise<{ bytes: number; chunks: number }> {
  const max = channel.maxChunkBytes;
  const inflight: Array<Promise<void>> = [];
  let seq = 0;
  let bytes = 0;
  const push = async (data: Uint8Array, last: boolean): Promise<void> => {
    inflight.push(channel.sendChunk({ stream, seq: seq++, last, data }));
    bytes += data.length;
    if (inflight.length >= window) await inflight.shift();
  };
  for await (const piece of source) {
    for (let at = 0; at < piece.length; at += max) await push(piece.subarray(at, at + max), false);
  }
  await push(new Uint8Array(0), true);
  await Promise.all(inflight);
  return { bytes, chunks: seq };
}

interface Inbound {
  next: number;
  queue: Uint8Array[];
  done: boolean;
  wake: (() => void) | undefined;
}

/** Streams a channel may have announced and not yet finished reading, unless the endpoint says otherwise. */
export const MAX_OPEN_STREAMS = 64;

/**
 * Collects the streams the peer sends on a channel. Only a stream this side expects (announced by a message it
 * asked for, `expect`) is kept: a chunk for any other id closes the channel, so the peer cannot make entries.
 * Chunks must arrive in order and end once; open streams and the bytes buffered ahead of their readers are
 * capped, and breaking any of that closes the channel.
 */
export class StreamInbox {
  private readonly streams = new Map<number, Inbound>();
  private buffered = 0;
  private failure: PgduplexError | undefined;

  constructor(
    private readonly channel: SecureChannel,
    private readonly maxBufferedBytes: number,
    private readonly maxOpenStreams = MAX_OPEN_STREAMS,
  ) {
    channel.onChunk((c) => this.accept(c));
    channel.onClose((reason) => {
      this.failure = reason ?? new PgduplexError('AGENT_UNREACHABLE', 'the peer channel closed during a stream');
      for (const s of this.streams.values()) s.wake?.();
    });
  }

  /**
   * Announces stream `stream`, as a message this side asked for named it; false (and the channel closed) when
   * that id is already open or too many streams are.
   */
  expect(stream: number): boolean {
    const why = this.streams.has(stream)
      ? `stream ${stream} is already open`
      : this.streams.size >= this.maxOpenStreams
        ? `more than ${this.maxOpenStreams} streams are open`
        : undefined;
    if (why !== undefined) {
      this.channel.abort(new PgduplexError('FRAME_INVALID', why));
      return false;
    }
    this.streams.set(stream, { next: 0, queue: [], done: false, wake: undefined });
    return true;
  }

  /** How many announced streams are not yet read to their end. */
  get open(): number {
    return this.streams.size;
  }

  /** Reads one announced stream to its end, in order. */
  async *take(stream: number): AsyncGenerator<Uint8Array> {
    const s = this.streams.get(stream);
    if (!s) throw new PgduplexError('FRAME_INVALID', `stream ${stream} was not announced`);
    for (;;) {
      const data = s.queue.shift();
      if (data !== undefined) {
        this.buffered -= data.length;
        yield data;
        continue;
      }
      if (s.done) {
        this.streams.delete(stream);
        return;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (s.wake = r));
      s.wake = undefined;
    }
  }

  private accept(c: Chunk): void {
    const s = this.streams.get(c.stream);
    if (!s) return this.channel.abort(new PgduplexError('FRAME_INVALID', `stream ${c.stream} was not announced`));
    if (s.done || c.seq !== s.next)
      return this.channel.abort(new PgduplexError('FRAME_INVALID', `stream ${c.stream} chunk out of order`));
    this.buffered += c.data.length;
    if (this.buffered > this.maxBufferedBytes) {
      return this.channel.abort(
        new PgduplexError(
          'FRAME_TOO_LARGE',
          `more than ${this.maxBufferedBytes} bytes of stream data are waiting to be read`,
        ),
      );
    }
    s.next += 1;
    if (c.data.length > 0) s.queue.push(c.data);
    s.done = c.last;
    s.wake?.();
  }
}
