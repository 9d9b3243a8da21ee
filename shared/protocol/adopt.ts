import { z } from 'zod';
import { PGDUPLEX_OBJECT_PREFIX, PUBLICATION, subscriptionName } from '../replication.js';
import { defineChange } from './change.js';
import { plainIdentifier as ident, ipText, tcpPort } from './identifier.js';
import { firstRefusal, mustBe, pairDatabase, peerAddress, type PeerRefusal } from './peer-policy.js';
import { subscriptionChange } from './replication-actions.js';

/** FS PBX's setup_logical_replication.sh names its objects so; the peer may hand over or drop only those. */
export const SCRIPT_OBJECT = /^fspbx_(publication|subscription)_[a-z0-9_]+$/;

/** A name the peer may ask this node to hand over or drop: the script's, never pgduplex's. */
const scriptObject = (param: string, name: string | undefined): PeerRefusal | undefined =>
  name === undefined || (SCRIPT_OBJECT.test(name) && !name.startsWith(PGDUPLEX_OBJECT_PREFIX))
    ? undefined
    : { param, why: `${name} is not a replication object FS PBX's script makes (fspbx_publication_*, …)` };

/**
 * `slot-copy`: pgduplex's slot for the peer's subscription, copied from the slot the script's subscription
 * reads, once that slot has confirmed past pgduplex's publication: it starts where the script's stands, so
 * nothing written meanwhile is missed. Undo drops the copy.
 */
export const slotCopyChange = defineChange({
  name: 'slot-copy',
  params: z.strictObject({ database: ident, from: ident, to: ident }),
  record: z.strictObject({ database: ident, slot: ident }),
  teardown: 'normal',
  noun: 'copied replication slot',
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      scriptObject('from', p.from),
      mustBe('to', p.to, subscriptionName(pair.node), "the slot the peer's subscription reads"),
    ),
});

/**
 * `subscription-adopt`: the script's subscription disabled, pgduplex's created on the copied slot without a
 * copy, its origin advanced to where the script's stopped, then enabled: no row is skipped or applied twice.
 * Undo is the handover backwards while the script's subscription still exists.
 */
export const subscriptionAdoptChange = defineChange({
  name: 'subscription-adopt',
  params: subscriptionChange.params.extend({ adopt: ident }),
  record: z.strictObject({ database: ident, name: ident, adopt: ident, adoptWasEnabled: z.boolean() }),
  teardown: 'first',
  noun: 'subscription taken over from the script',
  peer: (p, pair) =>
    firstRefusal(
      subscriptionChange.peer?.(p, pair),
      scriptObject('adopt', p.adopt),
      mustBe('publication', p.publication, PUBLICATION, "pgduplex's publication"),
      peerAddress('peer.host', p.peer.host, pair),
      mustBe('options.copyData', p.options.copyData, false, 'false (the data is there already)'),
    ),
});

/**
 * `foreign-drop`: what is left of the script's replication once pgduplex's streams in its place: its
 * (disabled, handed-over) subscription, an inactive slot and a publication. Only the publication can come back.
 */
export const foreignDropChange = defineChange({
  name: 'foreign-drop',
  params: z.strictObject({
    database: ident,
    subscription: ident.optional(),
    slot: ident.optional(),
    publication: ident.optional(),
  }),
  record: z.strictObject({
    database: ident,
    subscription: ident.optional(),
    slot: ident.optional(),
    publication: z.strictObject({ name: ident, allTables: z.boolean() }).optional(),
  }),
  teardown: 'keep',
  noun: "the script's replication objects",
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      scriptObject('subscription', p.subscription),
      scriptObject('slot', p.slot),
      scriptObject('publication', p.publication),
    ),
});

/**
 * `foreign-access`: the script's way in for the peer, unused once pgduplex replicates: its pg_hba.conf block for the
 * peer (between its markers) and its INPUT rule accepting the PostgreSQL port from the peer. pgduplex's own block and
 * rule (hostssl, scram, the pair's role only) stand in their place. Undo puts both back.
 */
export const foreignAccessChange = defineChange({
  name: 'foreign-access',
  params: z.strictObject({ peer: ipText, port: tcpPort }),
  record: z.strictObject({
    peer: z.string(),
    port: z.number(),
    hba: z.strictObject({ path: z.string(), at: z.number(), lines: z.array(z.string()) }).optional(),
    rules: z.array(z.strictObject({ family: z.union([z.literal(4), z.literal(6)]), rule: z.string() })),
  }),
  teardown: 'keep',
  noun: "the script's pg_hba.conf block and firewall rule",
  peer: (p, pair) =>
    firstRefusal(peerAddress('peer', p.peer, pair), mustBe('port', p.port, pair.pgPort, "this node's PostgreSQL port")),
});
