import { PgduplexError } from '../errors.js';
import { channelMessageSchema, type ChannelMessage } from '../protocol/messages.js';

/** Plaintext kinds inside one sealed frame: a JSON message, or a chunk of a binary stream. */
const MESSAGE = 0x00;
const CHUNK = 0x01;
/** Bytes before a chunk's data: kind, stream id (u32), sequence (u32), flags (u8). */
export const CHUNK_HEADER_BYTES = 10;

/** One piece of a streamed payload (a schema dump, a backup); `last` ends the stream. */
export interface Chunk {
  stream: number;
  seq: number;
  last: boolean;
  data: Uint8Array;
}

/** A decoded frame plaintext. */
export type Payload = { kind: 'message'; message: ChannelMessage } | ({ kind: 'chunk' } & Chunk);

/** Encodes a message as frame plaintext. */
export function encodeMessage(message: ChannelMessage): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(json.length + 1);
  out[0] = MESSAGE;
  out.set(json, 1);
  return out;
}

/** Encodes a stream chunk as frame plaintext: raw bytes, no base64. */
export function encodeChunk(c: Chunk): Uint8Array {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + c.data.length);
  const view = new DataView(out.buffer);
  out[0] = CHUNK;
  view.setUint32(1, c.stream);
  view.setUint32(5, c.seq);
  out[9] = c.last ? 1 : 0;
  out.set(c.data, CHUNK_HEADER_BYTES);
  return out;
}

/** Decodes frame plaintext strictly; anything unexpected is FRAME_INVALID. */
export function decodePayload(plain: Uint8Array): Payload {
  const bad = (): PgduplexError => new PgduplexError('FRAME_INVALID', 'frame holds no valid message');
  if (plain[0] === MESSAGE) {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain.subarray(1)));
    } catch {
      throw bad();
    }
    const parsed = channelMessageSchema.safeParse(value);
    if (!parsed.success) throw bad();
    return { kind: 'message', message: parsed.data };
  }
  if (plain[0] === CHUNK && plain.length >= CHUNK_HEADER_BYTES) {
    const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    const flags = plain[9] ?? 0;
    if (flags > 1) throw bad();
    return {
      kind: 'chunk',
      stream: view.getUint32(1),
      seq: view.getUint32(5),
      last: flags === 1,
      data: plain.subarray(CHUNK_HEADER_BYTES),
    };
  }
  throw bad();
}
