import type { ParamsOf } from '../../shared/protocol/actions.js';
import { credentialsStatusAction } from '../../shared/protocol/postgres.js';
import { extensionsChange } from '../../shared/protocol/data.js';
import { whoamiAction } from '../../shared/protocol/control.js';
import { PgduplexError } from '../../shared/errors.js';
import type { Agents, Side } from './agents.js';
import { readBootstrap, type Bootstrap } from './bootstrap.js';
import type { SetupFacts } from './plan.js';
import { checkRoom, preflight, type KeylessRemedy } from './preflight.js';
import type { Report } from './runner.js';
import { atStep } from './stage.js';
import { extensionStep, REPL_ROLE, sequenceSlots, type PairFacts } from './steps.js';
import { sequencesStatusAction } from '../../shared/protocol/replication-actions.js';

type Versions = Record<Side, string>;

type Facts = PairFacts & { versions: Versions };

/** Both nodes' names, agent versions and the addresses each is known by to the other, from their trust stores. */
export async function pairFacts(agents: Agents, database: string, source: Side): Promise<Facts> {
  const who = (side: Side) => agents.call(side, whoamiAction, {});
  const [me, peer] = await Promise.all([who('local'), who('peer')]);
  if (!me.peerAddress || !peer.peerAddress) {
    const hint = 'pgduplex pair --accept / pgduplex pair first';
    throw new PgduplexError('NOT_PAIRED', 'the two nodes are not paired', { hint });
  }
  const byside = {
    local: { side: 'local' as Side, node: me.node, address: peer.peerAddress },
    peer: { side: 'peer' as Side, node: peer.node, address: me.peerAddress },
  };
  const target = byside[source === 'local' ? 'peer' : 'local'];
  const versions = { local: me.version, peer: peer.version };
  return { database, source: byside[source], target, pgPort: 5432, versions };
}

/** What gathering needs from the operator's options. */
export interface GatherOptions {
  database: string;
  source: Side;
  keyless: KeylessRemedy;
  report: Report;
  /** Take over the replication FS PBX's script made instead of refusing it. */
  adopt?: boolean;
}

/**
 * Everything setup reads before it plans, with the refusals those reads alone decide (versions,
 * PostgreSQL, keyless tables, room for the copy, extensions the target cannot have): nothing changes.
 */
export async function gather(agents: Agents, o: GatherOptions): Promise<SetupFacts> {
  const withVersions = await atStep('the pairing check', () => pairFacts(agents, o.database, o.source));
  const { versions, ...pair } = withVersions;
  const how = { remedy: o.keyless, report: o.report, adopt: o.adopt === true };
  const pre = await atStep('preflight', () => preflight(agents, pair, how, versions));
  const adoption = pre.adoption;
  const boot: Bootstrap = adoption
    ? { kind: 'adopt', adoption }
    : await atStep('preflight', () => readBootstrap(agents, pair, pre.hazards));
  if (boot.kind !== 'subscribed' && boot.kind !== 'adopt') {
    checkRoom(pair, pre, o.report);
    // A target that cannot have the schema's extensions as the source has them is refused before anything changes.
    const ext = extensionStep(pair, pre.hazards.extensions);
    await atStep('preflight', () =>
      agents.call(ext.side, extensionsChange.check, ext.params as ParamsOf<typeof extensionsChange.check>),
    );
  }
  const status = await atStep('credentials', () =>
    Promise.all(
      [pair.source, pair.target].map((n) => {
        const other = n === pair.source ? pair.target : pair.source;
        const peer = { host: other.address, port: pair.pgPort, database: pair.database };
        return agents.call(n.side, credentialsStatusAction, { role: REPL_ROLE, peer });
      }),
    ),
  );
  const [sq, tq] = await atStep('preflight', () =>
    Promise.all(
      [pair.source, pair.target].map((n) => agents.call(n.side, sequencesStatusAction, { database: pair.database })),
    ),
  );
  const slots = sequenceSlots(sq!, tq!);
  return { pair, pre, boot, credentialsInPlace: status.every((s) => s.roleExists && s.passfileHasPeer), slots };
}
