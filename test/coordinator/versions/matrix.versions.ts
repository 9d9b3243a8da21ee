import { describePair } from './describe-pair.js';
import type { VersionPair } from './pair-body.js';
import { recordPair } from './results.js';

// `npm run test:versions`: every pair of PostgreSQL majors the issue names, b on the newer one where they
// differ and once the other way round, each on a lab booted for it; results in bench/results/versions.json.
const PAIRS: VersionPair[] = [
  { a: 17, b: 18, from: 'a' },
  { a: 18, b: 18, from: 'b' },
  { a: 18, b: 19, from: 'a' },
  { a: 19, b: 19, from: 'a' },
  { a: 18, b: 17, from: 'a' },
];

for (const p of PAIRS) describePair(p, { onResult: recordPair });
