import { describePair } from './describe-pair.js';

// `npm test`'s one mixed-version pair: a on PostgreSQL 17 (trixie), b on 18 (sid), the pair body of every
// version pair (npm run test:versions runs them all). Boots its own lab, then the default one again.
describePair({ a: 17, b: 18, from: 'a' }, { restoreDefaultLab: true });
