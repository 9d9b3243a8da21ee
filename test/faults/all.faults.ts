import { ALL_CASES } from './plan.js';
import { faultSuite } from './suite.js';

// `npm run test:faults`: every boundary fault at every step boundary of setup, a PostgreSQL crash in the
// middle of the copy and a full backup disk; writes bench/results/faults.json.
faultSuite('fault injection (all cases)', ALL_CASES, 'bench/results/faults.json');
