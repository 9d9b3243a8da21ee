import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Why: tests, the lab CLI and the demo all install the same artifact `npm run package` wrote. */
export function debPath(root = process.cwd()): string {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return join(root, 'dist', `pgduplex_${version}_all.deb`);
}
