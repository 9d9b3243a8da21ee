import { z } from 'zod';
import { anyRequest } from './peer-policy.js';
import type { PeerRule } from './peer-policy.js';

/** Who asks: the CLI on this node over the root-only socket, or the paired peer over the channel. */
export type Caller = 'local' | 'peer';

/** A typed action: its name, who may call it, what it takes and returns; both sides compile against it. */
export interface ActionDescriptor<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly name: string;
  /** Whether it changes the node; such actions run one at a time per agent (others get BUSY). */
  readonly mutates: boolean;
  /** Everyone else gets UNKNOWN_ACTION: some actions are for this node's operator only. */
  readonly callers: readonly Caller[];
  readonly params: P;
  readonly result: R;
  /** Names it answered to in earlier versions: an agent still answers to them, a caller falls back on them. */
  readonly aliases?: readonly string[];
  /** What the paired peer may ask (checked by the node before it runs); present whenever `callers` has 'peer'. */
  readonly peer?: PeerRule<z.output<P>>;
}

/** A peer-callable descriptor must say what the peer may ask; a local-only one has nothing to say. */
export type PeerDeclared<P extends z.ZodType, C extends readonly Caller[]> = 'peer' extends C[number]
  ? { peer: PeerRule<z.output<P>> }
  : { peer?: never };

/** Declares a descriptor with its types inferred; one the peer may call without a peer rule does not compile. */
export function defineAction<P extends z.ZodType, R extends z.ZodType, const C extends readonly Caller[]>(
  d: Omit<ActionDescriptor<P, R>, 'callers' | 'peer'> & { callers: C } & PeerDeclared<P, C>,
): ActionDescriptor<P, R> {
  return d as ActionDescriptor<P, R>;
}

/** What a caller sends for an action (defaults not yet applied). */
export type ParamsOf<D> = D extends ActionDescriptor<infer P, z.ZodType> ? z.input<P> : never;
/** What a caller gets back from an action, validated. */
export type ResultOf<D> = D extends ActionDescriptor<z.ZodType, infer R> ? z.output<R> : never;

/** Liveness and identity of the agent that runs it; the peer's round trip is measured with it. */
export const pingAction = defineAction({
  name: 'ping',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({}),
  result: z.strictObject({ node: z.string(), version: z.string(), time: z.string() }),
  peer: anyRequest,
});

/** Tells the other agent that this one removed the pairing, so it removes it too. */
export const peerUnpairAction = defineAction({
  name: 'peer.unpair',
  mutates: true,
  callers: ['peer'],
  params: z.strictObject({}),
  result: z.strictObject({ removed: z.boolean() }),
  peer: anyRequest,
});
