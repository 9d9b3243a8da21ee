// Vitest global setup of the versions project: each pair boots its own lab, so this only builds the .deb
// when missing and leaves no lab behind.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { labDown } from '../../lab/index.js';
import { debPath } from '../../lab/paths.js';

/** Builds the .deb the pairs install, when `npm run package` has not yet. */
export function setup(): void {
  if (!existsSync(debPath())) execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'inherit' });
}

/** Removes the last pair's lab, unless PGDX_LAB_KEEP=1 asks to keep it for poking around. */
export async function teardown(): Promise<void> {
  if (process.env.PGDX_LAB_KEEP === '1') return;
  await labDown();
}
