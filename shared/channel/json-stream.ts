import { PgduplexError, toPgduplexError } from '../errors.js';
import type { StreamInbox } from './streams.js';

/** The JSON bytes of a value, or a typed error naming `what` when they exceed `maxBytes`. */
export function jsonBytes(value: unknown, maxBytes: number, what: string): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(value));
  if (json.length > maxBytes)
    throw new PgduplexError(
      'FRAME_TOO_LARGE',
      `${what} is ${json.length} bytes, more than the ${maxBytes} one message may carry`,
    );
  return json;
}

/**
 * Reads a streamed JSON value. It always reads to the end, even past `maxBytes`, because unread
 * chunks would fill the inbox and close the channel; the answer is then a typed error.
 */
export async function readJsonStream(
  inbox: StreamInbox,
  stream: number,
  maxBytes: number,
  what: string,
): Promise<{ value: unknown } | { error: PgduplexError }> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const part of inbox.take(stream)) {
      size += part.length;
      if (size <= maxBytes) parts.push(part);
    }
  } catch (err) {
    return { error: toPgduplexError(err) };
  }
  if (size > maxBytes)
    return {
      error: new PgduplexError(
        'FRAME_TOO_LARGE',
        `${what} is ${size} bytes, more than the ${maxBytes} one message may carry`,
      ),
    };
  try {
    return { value: JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown };
  } catch {
    return { error: new PgduplexError('FRAME_INVALID', `${what} is not JSON`) };
  }
}
