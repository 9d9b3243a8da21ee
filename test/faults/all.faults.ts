import { ALL_CASES } from './plan.js';
import { faultSuite } from './suite.js';

// `npm run test:faults`: every boundary fault at every step boundary of setup, a PostgreSQL crash in the
// middle of the copy and a full backup disk; writes bench/results/faults.json. A part of it runs with
// vitest's -t filter, its results going to PGDX_FAULTS_RESULTS so the whole matrix's file is kept.
faultSuite('fault injection (all cases)', ALL_CASES, process.env.PGDX_FAULTS_RESULTS ?? 'bench/results/faults.json');
