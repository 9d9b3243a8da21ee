import { SAMPLE_CASES } from './plan.js';
import { faultSuite } from './suite.js';

// The part of the fault-injection suite `npm test` runs (the whole is `npm run test:faults`): one case of
// each fault, each at a boundary where it bites differently; see SAMPLE_CASES.
faultSuite('fault injection (sample)', SAMPLE_CASES);
