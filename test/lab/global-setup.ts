// Vitest global setup for the lab project: one two-node lab for all *.lab.test.ts files.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { labDown, labUp } from './index.js';
import { debPath } from './paths.js';

/** Brings the lab up with the freshly built .deb installed on both nodes. */
export async function setup(): Promise<void> {
  if (!existsSync(debPath())) execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'inherit' });
  await labUp({ deb: debPath() });
}

/** Tears it down again, unless PGDX_LAB_KEEP=1 asks to keep it for poking around. */
export async function teardown(): Promise<void> {
  if (process.env.PGDX_LAB_KEEP === '1') return;
  await labDown();
}
