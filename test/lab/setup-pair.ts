import type { NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { labSql, nodeSnapshot, type NodeSnapshot } from './node-snapshot.js';
import { pairLabNodes } from './pair.js';
import { undoEverything } from './undo-all.js';

/** Runs the pgduplex CLI on a node, as an operator would, without throwing on a non-zero exit. */
export const pgduplex = (node: NodeName, ...args: string[]) =>
  nodeExec(node, ['pgduplex', ...args], { reject: false, timeoutMs: 600_000 });

/** Runs the same probe on both nodes, a first. */
export const onBoth = <T>(f: (n: NodeName) => Promise<T>): Promise<[T, T]> => Promise.all([f('a'), f('b')]);

/**
 * Pairs the lab, loads a fixture on a, snapshots both nodes, then runs `pgduplex setup` from a: the
 * starting point of every teardown test. Returns the snapshots taken before setup.
 */
export async function setUpLabPair(fixture: string): Promise<{ a: NodeSnapshot; b: NodeSnapshot }> {
  await pairLabNodes();
  await labSql('a', fixture);
  const [a, b] = await Promise.all([nodeSnapshot('a'), nodeSnapshot('b')]);
  const r = await pgduplex('a', 'setup');
  if (r.exitCode !== 0) throw new Error(`pgduplex setup failed (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  return { a, b };
}

/** Undoes whatever is left in both journals, drops the fixture's tables on both nodes, unpairs. */
export async function cleanUpLabPair(tables: readonly string[]): Promise<void> {
  await undoEverything();
  for (const node of ['a', 'b'] as const) await labSql(node, `drop table if exists ${tables.join(', ')};`);
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}
