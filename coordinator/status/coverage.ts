import { PGDUPLEX_OBJECT_PREFIX, type SubscriptionFacts } from '../../shared/replication.js';
import { subscriptionName } from '../setup/steps.js';
import type { NodeView } from './gather.js';
import { psqlCommand, quoteIdent, type Remedy } from './remedy.js';

/** A problem of what a direction covers, with the command that repairs it. */
export interface CoverageProblem {
  text: string;
  remedy: Remedy;
}

/** Tables the publisher's publication carries that the subscription does not (unknown from an older agent). */
export function notSubscribed(pub: NodeView, s: SubscriptionFacts): string[] {
  const published = pub.snapshot?.published;
  if (!published || !s.relations) return [];
  const have = new Set(s.relations);
  return published.filter((t) => !have.has(t));
}

/** Enabled subscriptions in the database that are not pgduplex's: another tool (FS PBX's script) replicates. */
const foreignOf = (n: NodeView, database: string): string[] =>
  (n.snapshot?.subscriptions ?? [])
    .filter((x) => x.database === database && x.enabled && !x.name.startsWith(PGDUPLEX_OBJECT_PREFIX))
    .map((x) => x.name);

/** A direction another tool's subscription carries instead of pgduplex's (setup --adopt takes it over), if any. */
export function foreignProblem(pub: NodeView, sub: NodeView, database: string): CoverageProblem | undefined {
  const names = foreignOf(sub, database);
  if (names.length === 0) return undefined;
  return {
    text:
      `there is no subscription ${subscriptionName(pub.node)} on ${sub.node}; it has ${names.join(', ')}, which ` +
      "pgduplex did not make (FS PBX's setup_logical_replication.sh makes such) and does not watch: " +
      `${pub.node} → ${sub.node} is not pgduplex's`,
    remedy: {
      node: sub.node,
      command: 'pgduplex setup --adopt',
      effect: "takes the script's replication over without copying the data again (--dry-run first)",
    },
  };
}

/** Published tables the subscriber's subscription lacks: their changes are skipped there, silently. */
export function unsubscribedProblem(
  pub: NodeView,
  sub: NodeView,
  s: SubscriptionFacts,
  database: string,
): CoverageProblem | undefined {
  const missing = notSubscribed(pub, s);
  if (missing.length === 0) return undefined;
  const n = missing.length;
  const list = n > 5 ? `${missing.slice(0, 5).join(', ')} and ${n - 5} more` : missing.join(', ');
  const refresh = `ALTER SUBSCRIPTION ${quoteIdent(s.name)} REFRESH PUBLICATION WITH (copy_data = true)`;
  return {
    text:
      `${n} table${n === 1 ? '' : 's'} ${pub.node} publishes ${n === 1 ? 'is' : 'are'} not in ${sub.node}'s ` +
      `subscription, so ${sub.node} skips their changes: ${list}`,
    remedy: {
      node: sub.node,
      command: psqlCommand(database, refresh),
      effect:
        `adds them to the subscription and copies ${pub.node}'s rows of them to ${sub.node}; rows ${sub.node} ` +
        `already holds in them make that copy fail on their keys (compare with pgduplex verify first)`,
    },
  };
}
