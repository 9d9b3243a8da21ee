import { PgduplexError } from '../../shared/errors.js';
import type { ForeignReplication } from '../../shared/protocol/foreign.js';
import { canonical } from '../../shared/protocol/peer-policy.js';
import { SCRIPT_OBJECT } from '../../shared/protocol/adopt.js';
import type { Side } from './agents.js';
import { subscriptionName, type PairFacts } from './steps.js';

type NodeRef = PairFacts['source'];

/** One direction of the pair as the handover sees it: the script's subscription on `to`, reading from `from`. */
export interface AdoptDirection {
  readonly from: NodeRef;
  readonly to: NodeRef;
  /** The script's subscription on `to` and the slot it reads on `from`; absent once it was dropped. */
  readonly old?: { readonly subscription: string; readonly slot: string; readonly enabled: boolean };
  /** pgduplex's subscription on `to` streams in the script's place. */
  readonly handedOver: boolean;
}

/** What is left of the script's replication on one node once both directions are handed over. */
export interface Leftover {
  readonly side: Side;
  readonly node: string;
  readonly subscription?: string;
  readonly slot?: string;
  readonly publication?: string;
}

/** The script's way in for the peer on one node, in words: its pg_hba.conf block and its 5432 rule. */
export interface ForeignAccess {
  readonly side: Side;
  readonly node: string;
  readonly peer: string;
  readonly what: readonly string[];
}

/** How `setup --adopt` finds the pair: both directions, what the script leaves behind, whether a run began. */
export interface Adoption {
  readonly directions: readonly [AdoptDirection, AdoptDirection];
  readonly leftovers: readonly Leftover[];
  readonly access: readonly ForeignAccess[];
  /** A handover began in an earlier run (a subscription disabled, a slot copied or pgduplex's streaming). */
  readonly begun: boolean;
}

/** What one node holds for the adoption: the replication.foreign answer and pgduplex's subscriptions (enabled?). */
export interface AdoptNode {
  readonly ref: NodeRef;
  readonly foreign: ForeignReplication;
  readonly pgduplexSubs: ReadonlyMap<string, boolean>;
  readonly slots: readonly string[];
}

const HINT =
  "nothing was changed. setup --adopt takes over exactly what FS PBX's setup_logical_replication.sh makes: on each " +
  'node one subscription to the other node, the slot it reads there and the publication it reads; remove the rest ' +
  'first, or set the pair up without --adopt once the replication is gone';

/**
 * Reads the handover's state from both nodes' answers, and refuses (naming them) any foreign object that is not
 * part of the script's shape: extra subscriptions, slots or publications, a table copy still running.
 */
export function readAdoption(a: AdoptNode, b: AdoptNode, database: string): Adoption | undefined {
  const strays: string[] = [];
  const used = { slots: new Set<string>(), pubs: new Set<string>() };
  const direction = (from: AdoptNode, to: AdoptNode): AdoptDirection => {
    const subs = to.foreign.subscriptions.filter(
      (s) => s.host !== null && canonical(s.host) === canonical(from.ref.address),
    );
    for (const s of to.foreign.subscriptions.filter((x) => !subs.includes(x)))
      strays.push(`on ${to.ref.node}: subscription ${s.name} (connecting to ${s.host ?? 'no host'}, not the peer)`);
    for (const s of subs.slice(1)) strays.push(`on ${to.ref.node}: a second subscription to the peer, ${s.name}`);
    const handedOver = to.pgduplexSubs.get(subscriptionName(from.ref.node)) === true;
    const sub = subs[0];
    if (!sub) return { from: from.ref, to: to.ref, handedOver };
    const slot = sub.slot ?? sub.name;
    const bad = (why: string) => strays.push(`on ${to.ref.node}: subscription ${sub.name} ${why}`);
    if (!SCRIPT_OBJECT.test(sub.name)) bad('is not named as the script names its subscriptions');
    if (!from.foreign.slots.some((s) => s.name === slot && s.syncOf === null))
      bad(`reads slot ${slot}, which ${from.ref.node} does not have`);
    used.slots.add(`${from.ref.node}/${slot}`);
    for (const p of sub.publications) used.pubs.add(`${from.ref.node}/${p}`);
    const old = { subscription: sub.name, slot, enabled: sub.enabled };
    return { from: from.ref, to: to.ref, old, handedOver };
  };
  const directions = [direction(a, b), direction(b, a)] as const;
  const leftovers: Leftover[] = [];
  for (const [n, out, inn] of [
    [a, directions[0], directions[1]],
    [b, directions[1], directions[0]],
  ] as const) {
    const slots = n.foreign.slots.filter((s) => !used.slots.has(`${n.ref.node}/${s.name}`));
    const pubs = n.foreign.publications.filter((p) => !used.pubs.has(`${n.ref.node}/${p.name}`));
    // Once n's direction is handed over, its script's slot and publication nobody reads are the script's leftovers.
    const spare = (name: string) => out.handedOver && SCRIPT_OBJECT.test(name);
    for (const s of slots.filter((x) => !(spare(x.name) && !x.active)))
      strays.push(`on ${n.ref.node}: replication slot ${s.name}${s.syncOf === null ? '' : ' (a table copy)'}`);
    for (const p of pubs.filter((x) => !spare(x.name))) strays.push(`on ${n.ref.node}: publication ${p.name}`);
    const leftover = {
      subscription: inn.old?.subscription,
      slot: out.old?.slot ?? slots.find((x) => spare(x.name))?.name,
      publication: n.foreign.publications.find((p) => SCRIPT_OBJECT.test(p.name))?.name,
    };
    const clean = Object.fromEntries(Object.entries(leftover).filter(([, v]) => v !== undefined));
    if (Object.keys(clean).length > 0) leftovers.push({ side: n.ref.side, node: n.ref.node, ...clean });
  }
  const some = directions.some((d) => d.old) || leftovers.length > 0;
  for (const d of some ? directions : [])
    if (!d.old && !d.handedOver)
      throw new PgduplexError(
        'FOREIGN_REPLICATION',
        `${d.to.node} has no subscription to ${d.from.node}, neither the script's nor pgduplex's`,
        { hint: HINT },
      );
  if (strays.length > 0)
    throw new PgduplexError(
      'FOREIGN_REPLICATION',
      `${database} holds replication setup --adopt cannot take over: ${strays.join('; ')}`,
      { hint: HINT },
    );
  const access = [a, b].flatMap((n, i): ForeignAccess[] => {
    const what = [
      ...n.foreign.hbaBlocks.map(
        (h) =>
          `pg_hba.conf block "# >>> fspbx logical replication (${h.peer}) >>>" ` +
          `(${h.file}, lines ${h.begin}-${h.end ?? 'end'}: ${h.rules.join('; ')})`,
      ),
      ...n.foreign.firewall.map((r) => `${r.family === 4 ? 'iptables' : 'ip6tables'} rule ${r.rule}`),
    ];
    const peer = [b, a][i]!.ref.address;
    return what.length > 0 ? [{ side: n.ref.side, node: n.ref.node, peer, what }] : [];
  });
  const nothing = directions.every((d) => !d.old) && leftovers.length === 0 && access.length === 0;
  if (nothing) return undefined;
  const begun =
    directions.some((d) => d.handedOver || (d.old && !d.old.enabled)) ||
    [a, b].some((n) => n.slots.includes(subscriptionName(n.ref.node)));
  return { directions, leftovers, access, begun };
}
