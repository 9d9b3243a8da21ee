import type { NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { buildFixture, dropFixture } from './fixture/build.js';
import { pairLabNodes } from './pair.js';
import { pgduplex } from './setup-pair.js';
import { undoEverything } from './undo-all.js';

const out = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

/** Pairs the lab, loads the FS PBX fixture on a and runs setup: where the lab tests of verify and the watch start. */
export async function setUpFixturePair(size = '24MB'): Promise<void> {
  await pairLabNodes();
  await buildFixture('a', size, { noKeyTable: false });
  const r = await pgduplex('a', 'setup', '--yes');
  if (r.exitCode !== 0) throw new Error(`setup failed: ${out(r)}`);
}

/** Undoes both journals, empties the fixture on both nodes, removes the `paths` (a shell glob) there, unpairs. */
export async function cleanUpFixturePair(paths: string): Promise<void> {
  await undoEverything();
  for (const node of ['a', 'b'] as NodeName[]) {
    await dropFixture(node);
    await nodeExec(node, ['bash', '-c', `rm -rf ${paths}`]);
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}
