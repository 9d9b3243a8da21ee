import { LAB } from './constants.js';
import { nodeExec } from './exec.js';

/**
 * Pairs the lab's agents the way a script does: b opens the window for a's address and a's fingerprint
 * (`pgduplex whoami` on a), a takes the token over stdin.
 */
export async function pairLabNodes(): Promise<void> {
  const who = JSON.parse((await nodeExec('a', ['pgduplex', 'whoami', '--json'])).stdout) as { fingerprint: string };
  const argv = [
    'pgduplex',
    'pair',
    '--accept',
    LAB.nodes.a.ipv4,
    '--fingerprint',
    who.fingerprint,
    '--no-wait',
    '--json',
  ];
  const accept = JSON.parse((await nodeExec('b', argv)).stdout) as { token: string };
  await nodeExec('a', ['pgduplex', 'pair', LAB.nodes.b.ipv4, '-'], { input: accept.token });
}
