import { LAB } from './constants.js';
import { nodeExec } from './exec.js';

/** Pairs the lab's agents the way an operator does: token printed on b, used on a over stdin. */
export async function pairLabNodes(): Promise<void> {
  const accept = JSON.parse((await nodeExec('b', ['pgduplex', 'pair', '--accept', LAB.nodes.a.ipv4, '--no-wait', '--json'])).stdout) as { token: string };
  await nodeExec('a', ['pgduplex', 'pair', LAB.nodes.b.ipv4, '-'], { input: accept.token });
}
