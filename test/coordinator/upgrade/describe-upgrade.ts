// Runs the pg-upgrade body as vitest tests on a lab of the case's flavor, recording each step like a version pair.
import { labUp } from '../../lab/index.js';
import { debPath } from '../../lab/paths.js';
import { describeSteps, type DescribePairOptions } from '../versions/describe-pair.js';
import { upgradeStart, upgradeSteps, type UpgradeCase } from './upgrade-body.js';

/** Why: `npm test` (17 -> 18) and `npm run test:versions` (every upgrade) run the same body and report it alike. */
export function describeUpgrade(u: UpgradeCase, opts: DescribePairOptions = {}): void {
  describeSteps(
    {
      title:
        `pgduplex pg-upgrade --to ${u.to}${u.recreate ? ' --recreate-replication' : ''} on a ${u.from}↔${u.from} ` +
        'pair, the other node taking writes',
      pair: `${u.from}→${u.to} (pg-upgrade${u.recreate ? ' --recreate-replication' : ''})`,
      majors: { a: u.to, b: u.to },
      from: 'b, then a',
      boot: async () => {
        await labUp({ deb: debPath(), versions: { a: u.flavor, b: u.flavor } });
        await upgradeStart(u);
      },
      steps: upgradeSteps(u),
    },
    opts,
  );
}
