import { z } from 'zod';
import { firstRefusal, mustBe, pairDatabase, peerAddress } from './peer-policy.js';
import { defineAction } from './actions.js';
import { plainIdentifier as ident, ipText, tcpPort } from './identifier.js';

/** A subscription pgduplex did not make; of its conninfo only where it connects, never a password. */
export const foreignSubscriptionSchema = z.strictObject({
  name: z.string(),
  oid: z.number(),
  enabled: z.boolean(),
  /** The slot it reads on its publisher (null after `slot_name = NONE`). */
  slot: z.string().nullable(),
  publications: z.array(z.string()),
  host: z.string().nullable(),
  port: z.string().nullable(),
  user: z.string().nullable(),
});

/** A logical slot pgduplex did not make; `syncOf` is the subscription oid a table-sync slot's name carries. */
export const foreignSlotSchema = z.strictObject({
  name: z.string(),
  plugin: z.string().nullable(),
  active: z.boolean(),
  syncOf: z.number().nullable(),
});

/** A pg_hba.conf block between FS PBX's `# >>> fspbx logical replication (<peer>) >>>` markers. */
export const foreignHbaBlockSchema = z.strictObject({
  file: z.string(),
  peer: z.string(),
  /** 1-based line numbers of the header and the footer (null when the footer is missing). */
  begin: z.number(),
  end: z.number().nullable(),
  rules: z.array(z.string()),
});

/** An INPUT rule (outside pgduplex's chain) accepting the PostgreSQL port from the peer, as iptables-save prints it. */
export const foreignFirewallRuleSchema = z.strictObject({
  family: z.union([z.literal(4), z.literal(6)]),
  /** 1-based position among the INPUT rules. */
  position: z.number(),
  rule: z.string(),
});

/** What replication.foreign finds on one node. */
export const foreignReplicationSchema = z.strictObject({
  publications: z.array(z.strictObject({ name: z.string(), allTables: z.boolean() })),
  subscriptions: z.array(foreignSubscriptionSchema),
  slots: z.array(foreignSlotSchema),
  hbaBlocks: z.array(foreignHbaBlockSchema),
  firewall: z.array(foreignFirewallRuleSchema),
});
export type ForeignReplication = z.infer<typeof foreignReplicationSchema>;

/**
 * `replication.foreign`: replication in the pair's database that pgduplex did not make (FS PBX's script's
 * publications, subscriptions and slots, its pg_hba block and 5432 rule), so setup never stacks on it.
 */
export const replicationForeignAction = defineAction({
  name: 'replication.foreign',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({ database: ident, peer: ipText, port: tcpPort }),
  result: foreignReplicationSchema,
  peer: (p, pair) =>
    firstRefusal(
      pairDatabase('database', p.database, pair),
      peerAddress('peer', p.peer, pair),
      mustBe('port', p.port, pair.pgPort, "this node's PostgreSQL port"),
    ),
});
