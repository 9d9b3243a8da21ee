import { z } from 'zod';
import { defineAction } from './actions.js';
import { defineChange } from './change.js';
import { plainIdentifier as ident } from './identifier.js';

/** A PostgreSQL major pgduplex can run on (origin = none needs 16). */
export const pgMajorSchema = z.number().int().min(16).max(99);

const clusterRef = z.strictObject({ version: z.string().regex(/^\d{2,}$/), cluster: z.string().max(63) });

/** One Debian cluster as pg_lsclusters would show it. */
export const clusterViewSchema = z.strictObject({
  version: z.string(),
  name: z.string(),
  port: z.number(),
  dataDir: z.string(),
  running: z.boolean(),
  /** start.conf: auto, manual or disabled. */
  start: z.string(),
});
export type ClusterView = z.infer<typeof clusterViewSchema>;

/** What the node to upgrade reports before `pg-upgrade --to N`: the coordinator plans and refuses from it. */
export const upgradeFactsSchema = z.strictObject({
  /** The cluster this node serves now. */
  current: clusterViewSchema,
  clusters: z.array(clusterViewSchema),
  target: z.strictObject({
    major: pgMajorSchema,
    /** pg_upgrade of the target major is installed (postgresql-N). */
    installed: z.boolean(),
    /** The packages to install when it is not. */
    packages: z.array(z.string()),
    /** A cluster of the target major under the same name exists already (installing postgresql-N makes one). */
    existing: z
      .strictObject({
        running: z.boolean(),
        /** No database but postgres and the templates, and nothing in postgres: what the package's postinst made. */
        empty: z.boolean().nullable(),
        databases: z.array(z.string()),
      })
      .nullable(),
  }),
  disk: z.strictObject({ clusterBytes: z.number(), freeBytes: z.number() }),
  /** Column options (attoptions) in this database the target major's pg_dump does not know: pg_upgrade would fail. */
  unknownColumnOptions: z.array(z.string()),
  /** Client sessions on this node's databases that are not replication (the PBX: php-fpm, FreeSWITCH, workers). */
  sessions: z.array(
    z.strictObject({ database: z.string(), user: z.string(), application: z.string(), client: z.string() }),
  ),
  /** FS PBX's services that are running here (they lose the database while it is upgraded). */
  services: z.array(z.string()),
  /** Logical slots: pg_upgrade keeps them from 17 on when none is lost. */
  slots: z.array(z.strictObject({ name: z.string(), walStatus: z.string().nullable(), active: z.boolean() })),
  /** Subscriptions and their tables not yet ready (pg_upgrade keeps them from 17 on when all are i or r). */
  subscriptions: z.array(z.strictObject({ name: z.string(), enabled: z.boolean(), notReady: z.number() })),
  /** An upgrade run (pgduplex-pg-upgrade.service) is under way, e.g. one a killed agent started. */
  running: z.boolean(),
  /**
   * A run that re-creates the pair's objects parked them and wrote down their positions, then was cut short before
   * the upgrade started: the next run goes on from there (the pair is not healthy meanwhile, by design).
   */
  parked: z.boolean(),
  /** The clusters earlier upgrades replaced that still exist (the way back, removed by --finish). */
  replaced: z.array(clusterViewSchema),
});
export type UpgradeFacts = z.infer<typeof upgradeFactsSchema>;

/** A size as the upgrade's plan and refusals print it (the agent's words and the coordinator's alike). */
export const gb = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

/** Whether pg_upgrade cannot carry the pair's slots and subscriptions (from 16), or was told not to. */
export const rebuilds = (f: UpgradeFacts, recreate: boolean): boolean =>
  recreate || f.parked || (Number(f.current.version) < 17 && f.slots.length + f.subscriptions.length > 0);

/** Reads what `pg-upgrade` plans from; the operator's own node only (a peer never upgrades this node). */
export const upgradeFactsAction = defineAction({
  name: 'upgrade.facts',
  mutates: false,
  callers: ['local'],
  params: z.strictObject({ to: pgMajorSchema, database: ident.default('fusionpbx') }),
  result: upgradeFactsSchema,
});

/**
 * `pg-upgrade`: this node's cluster to a newer major with Debian's pg_upgradecluster, keeping the pair's slots,
 * subscriptions and origins (pg_upgrade does from 17 on), pgduplex's settings, pg_hba block and passfile; the agent
 * then serves the new cluster. Copy mode keeps the old cluster, stopped, as the way back; `link` does not.
 */
export const pgUpgradeChange = defineChange({
  name: 'pg-upgrade',
  callers: ['local'],
  params: z.strictObject({
    to: pgMajorSchema,
    link: z.boolean().default(false),
    /** Drop the empty cluster of the target major that installing its packages made (checked empty first). */
    replaceEmpty: z.boolean().default(false),
    /** The peer's major: binary transfer stops on this node's subscriptions when it will differ from `to`. */
    peerMajor: pgMajorSchema.optional(),
    /**
     * Re-create the pair's slots and subscriptions after pg_upgrade, at the position each stopped, instead of letting
     * it carry them (what a 16 source always needs; from 17, for when pg_upgrade refuses to carry them).
     */
    recreate: z.boolean().default(false),
  }),
  record: z.strictObject({ from: clusterRef, to: clusterRef, link: z.boolean(), rebuild: z.boolean().optional() }),
  // Teardown never downgrades PostgreSQL: the upgrade stays.
  teardown: 'keep',
  noun: 'PostgreSQL major upgrade',
});

/**
 * `pg-cluster-drop`: removes a cluster an upgrade replaced (`pg-upgrade --finish`), only that kind and only while it is
 * stopped; the node's database is backed up from the new cluster first, by the coordinator.
 */
export const pgClusterDropChange = defineChange({
  name: 'pg-cluster-drop',
  callers: ['local'],
  params: z.strictObject({ version: z.string().regex(/^\d{2,}$/), cluster: z.string().max(63) }),
  record: z.strictObject({ version: z.string(), cluster: z.string(), dataDir: z.string() }),
  teardown: 'keep',
  noun: 'old PostgreSQL cluster removal',
});
