import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, encodeChunk, encodeMessage } from '../../../shared/channel/payload.js';
import { ERROR_CODES } from '../../../shared/errors.js';
import { channelMessageSchema, type ChannelMessage } from '../../../shared/protocol/messages.js';
import { bytesInput, FUZZ_RUNS, FUZZ_TIMEOUT_MS, typedOutcome } from '../../fuzz/mutate.js';

const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const text = (max: number) => fc.string({ maxLength: Math.min(max, 40) });
const message: fc.Arbitrary<ChannelMessage> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), node: text(64), version: text(32) }),
  fc.record({
    type: fc.constant('request' as const),
    id,
    action: fc.string({ minLength: 1, maxLength: 64 }),
    params: fc.jsonValue({ maxDepth: 3 }),
  }),
  fc.record({
    type: fc.constant('response' as const),
    id,
    ok: fc.constant(true as const),
    result: fc.jsonValue({ maxDepth: 3 }),
  }),
  fc.record({
    type: fc.constant('response' as const),
    id,
    ok: fc.constant(false as const),
    error: fc.record(
      { code: fc.constantFrom(...ERROR_CODES), message: text(4096), hint: text(4096) },
      { requiredKeys: ['code', 'message'] },
    ),
  }),
  fc.record(
    {
      type: fc.constant('progress' as const),
      id,
      message: text(1024),
      done: fc.double({ noNaN: true, noDefaultInfinity: true }),
      total: fc.nat(),
    },
    { requiredKeys: ['type', 'id', 'message'] },
  ),
  fc.record({ type: fc.constant('bye' as const), reason: text(256) }),
);
const chunk = fc.record({
  stream: fc.nat({ max: 0xffffffff }),
  seq: fc.nat({ max: 0xffffffff }),
  last: fc.boolean(),
  data: fc.uint8Array({ maxLength: 256 }),
});

/** A message damaged at the JSON level: a field replaced by any JSON value, a key added or removed. */
const damagedMessage = fc
  .tuple(
    message,
    fc.nat(),
    fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)),
    fc.constantFrom('type', 'id', 'ok', 'extra', '__proto__', 'constructor'),
  )
  .map(([m, i, value, extraKey]) => {
    const obj: Record<string, unknown> = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
    const keys = Object.keys(obj);
    const keyName = i % 2 === 0 ? keys[i % keys.length]! : extraKey;
    Object.defineProperty(obj, keyName, { value, enumerable: true, configurable: true, writable: true });
    return new Uint8Array([0, ...new TextEncoder().encode(JSON.stringify(obj))]);
  });

const valid = fc.oneof(message.map(encodeMessage), chunk.map(encodeChunk));

describe('decodePayload under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('decodes damaged and random frame plaintext to a payload or FRAME_INVALID, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(bytesInput(valid), damagedMessage), (bytes) => {
        const r = typedOutcome(['FRAME_INVALID'], () => decodePayload(bytes));
        if (r.ok && r.value.kind === 'message')
          expect(channelMessageSchema.safeParse(r.value.message).success).toBe(true);
        if (r.ok && r.value.kind === 'chunk') expect(encodeChunk(r.value)).toEqual(bytes);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('round-trips every valid message and chunk', () => {
    fc.assert(
      fc.property(message, chunk, (m, c) => {
        expect(decodePayload(encodeMessage(m))).toEqual({
          kind: 'message',
          message: channelMessageSchema.parse(JSON.parse(JSON.stringify(m))),
        });
        expect(decodePayload(encodeChunk(c))).toEqual({ kind: 'chunk', ...c });
      }),
      { numRuns: 2_000 },
    );
  });
});
