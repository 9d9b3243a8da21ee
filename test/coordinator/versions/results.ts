// bench/results/versions.json: what each version pair of `npm run test:versions` did, step by step.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PairResult } from './describe-pair.js';

/** Why: one place for the path, so the script, the README and the test agree. */
export const VERSIONS_RESULTS = join(import.meta.dirname, '../../../bench/results/versions.json');

interface VersionsFile {
  generatedAt: string;
  pairs: PairResult[];
}

/** Why: written after every pair (tmp + rename), so a run cut short still leaves what it found. */
export function recordPair(r: PairResult, file = VERSIONS_RESULTS): void {
  let pairs: PairResult[] = [];
  try {
    pairs = (JSON.parse(readFileSync(file, 'utf8')) as VersionsFile).pairs ?? [];
  } catch {
    /* first pair of a run, or no file yet */
  }
  const key = (x: PairResult) => `${x.pair}:${x.from}`;
  pairs = [...pairs.filter((x) => key(x) !== key(r)), r];
  const doc: VersionsFile = { generatedAt: new Date().toISOString(), pairs };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
