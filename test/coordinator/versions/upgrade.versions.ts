import { describeUpgrade } from '../upgrade/describe-upgrade.js';
import { recordPair } from './results.js';

// `npm run test:versions`: every in-place major upgrade the lab can make, each on a lab of its own flavor (17+: trixie's
// 17 with 18 and 19 cached; 18+: sid's 18 with 19 cached); results beside the pairs' in bench/results/versions.json.
describeUpgrade({ flavor: '17+', from: 17, to: 18 }, { onResult: recordPair });
describeUpgrade({ flavor: '18+', from: 18, to: 19 }, { onResult: recordPair });
// The slot and subscription re-created where they stopped instead of carried: what a 16 source always needs (no 16
// exists in Debian's archive to boot; test/agent/postgres/upgrade-rebuild.test.ts runs that SQL on a real 16).
describeUpgrade({ flavor: '17+', from: 17, to: 18, recreate: true }, { onResult: recordPair });
