import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { NodeName } from './constants.js';
import { nodeExec } from './exec.js';

/**
 * Bundles a TypeScript driver (project code plus a small main) with esbuild and writes it into a node,
 * so tests can run the real agent modules inside the node's namespaces with the node's own Node.js.
 */
export async function installDriver(node: NodeName, entry: URL, remotePath: string): Promise<void> {
  const bundle = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  });
  await nodeExec(node, ['tee', remotePath], { input: bundle.outputFiles[0]!.text });
}
