// The line-length lint `npm test` runs: no source line under agent/, coordinator/, shared/ is wider than
// 120 columns, which the formatter cannot fix in strings and comments by itself.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX = 120;
const ROOTS = ['agent', 'coordinator', 'shared'];
const SKIP = new Set(['fixtures', 'results', 'node_modules']);

function* files(dir) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|mjs|js)$/.test(name)) yield path;
  }
}

const wide = [];
for (const root of ROOTS) {
  for (const file of files(root)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if ([...line].length > MAX) wide.push(`${file}:${i + 1}: ${[...line].length} columns`);
      });
  }
}
if (wide.length > 0) {
  console.error(`${wide.length} lines are wider than ${MAX} columns:\n${wide.slice(0, 50).join('\n')}`);
  process.exit(1);
}
console.log(`line length: every source line is at most ${MAX} columns`);
