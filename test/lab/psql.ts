import { LAB, type NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import type { RunResult } from './sh.js';

/** Runs SQL text (on stdin) as the OS user postgres in the lab database of a node, stopping at the first error. */
export function nodePsql(
  node: NodeName,
  text: string,
  opts: { timeoutMs?: number; database?: string; reject?: boolean } = {},
): Promise<RunResult> {
  const argv = [
    'runuser',
    '-u',
    'postgres',
    '--',
    'psql',
    '-X',
    '-qAt',
    '-v',
    'ON_ERROR_STOP=1',
    '-d',
    opts.database ?? LAB.database,
    '-f',
    '-',
  ];
  return nodeExec(node, argv, { input: text, timeoutMs: opts.timeoutMs ?? 120_000, reject: opts.reject ?? true });
}
