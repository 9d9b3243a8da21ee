import { z } from 'zod';

/** A typed action: its name, what it takes and what it returns; both sides validate against these. */
export interface ActionDescriptor<P extends z.ZodType, R extends z.ZodType> {
  name: string;
  /** Whether it changes the node; such actions run one at a time per agent (others get BUSY). */
  mutates: boolean;
  params: P;
  result: R;
}

/** Declares a descriptor with its types inferred. */
export function defineAction<P extends z.ZodType, R extends z.ZodType>(d: ActionDescriptor<P, R>): ActionDescriptor<P, R> {
  return d;
}

/** Liveness and identity of the agent that runs it; the peer's round trip is measured with it. */
export const pingAction = defineAction({
  name: 'ping',
  mutates: false,
  params: z.strictObject({}),
  result: z.strictObject({ node: z.string(), version: z.string(), time: z.string() }),
});

/** Tells the other agent that this one removed the pairing, so it removes it too. */
export const peerUnpairAction = defineAction({
  name: 'peer.unpair',
  mutates: true,
  params: z.strictObject({}),
  result: z.strictObject({ removed: z.boolean() }),
});
