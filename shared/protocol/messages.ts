import { z } from 'zod';

/** Request ids are small positive integers, unique per direction of one session. */
const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const errorJson = z.strictObject({
  // Any code-shaped word: a newer peer's code must not make the frame (and the session) invalid.
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/),
  message: z.string().max(4096),
  hint: z.string().max(4096).optional(),
});

/** The largest params or result one action call carries, on the local socket and (streamed) between agents. */
export const MAX_CALL_JSON_BYTES = 1_048_576;

/** Every message that crosses the encrypted channel: a union on `type`, validated once on receipt. */
export const channelMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), node: z.string().max(64), version: z.string().max(32) }),
  z.strictObject({ type: z.literal('request'), id, action: z.string().min(1).max(64), params: z.unknown() }),
  // A request whose params are too large for one frame: their JSON follows as the numbered byte stream.
  z.strictObject({ type: z.literal('request-stream'), id, action: z.string().min(1).max(64), stream: id }),
  z.discriminatedUnion('ok', [
    z.strictObject({ type: z.literal('response'), id, ok: z.literal(true), result: z.unknown() }),
    z.strictObject({ type: z.literal('response'), id, ok: z.literal(false), error: errorJson }),
  ]),
  // A result too large for one frame: its JSON follows as the numbered byte stream.
  z.strictObject({ type: z.literal('result-stream'), id, stream: id }),
  z.strictObject({
    type: z.literal('progress'),
    id,
    message: z.string().max(1024),
    done: z.number().optional(),
    total: z.number().optional(),
  }),
  z.strictObject({ type: z.literal('bye'), reason: z.string().max(256) }),
]);

/** One decoded channel message. */
export type ChannelMessage = z.infer<typeof channelMessageSchema>;
