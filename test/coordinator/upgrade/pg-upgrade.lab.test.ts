import { describeUpgrade } from './describe-upgrade.js';

// `npm test`'s one pg-upgrade: each node of a 17↔17 pair (lab flavor 17+: trixie's 17 on sid, 18 installed later,
// offline, as an operator would) goes to 18 while the other takes writes; then the default lab boots again.
// PGDX_UPGRADE_KEEP=1 (with PGDX_LAB_KEEP=1) leaves the upgraded lab up to look at.
describeUpgrade({ flavor: '17+', from: 17, to: 18 }, { restoreDefaultLab: process.env['PGDX_UPGRADE_KEEP'] !== '1' });
