import { PgduplexError } from '../../shared/errors.js';
import { gb, pgUpgradeChange, rebuilds, upgradeFactsAction, type UpgradeFacts } from '../../shared/protocol/upgrade.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { controlVia, startCluster } from '../postgres/settings-service.js';
import { clusterViews } from '../postgres/cluster-views.js';
import { binaryOff, carryFiles, repointPassfile } from '../postgres/upgrade-carry.js';
import { readRebuildSpec } from '../postgres/upgrade-rebuild.js';
import {
  finishRebuild,
  prepareRebuild,
  readRebuild,
  rebuildFile,
  rebuildOwed,
  restoreRebuild,
} from './pg-upgrade-rebuild.js';
import {
  clusterTool,
  logTail,
  startUpgrade,
  upgradeCause,
  upgradeRunning,
  UPGRADE_UNIT,
  waitUpgrade,
} from '../postgres/upgrade-run.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';
import { named, refOf, runFiles, upgradeFactsOf, type Ref } from './pg-upgrade-facts.js';
import { refusal } from './pg-upgrade-refusal.js';
import { defineHandler } from './registry.js';

export { pgClusterDropAction } from './pg-cluster-drop.js';
export { refusal } from './pg-upgrade-refusal.js';

/** `upgrade.facts` and `pg-upgrade`: the node's own major upgrade, asked for by its own operator only. */
export function pgUpgradeActions(s: AgentServices) {
  const facts = upgradeFactsOf(s);
  const factsHandler = defineHandler({
    descriptor: upgradeFactsAction,
    run: ({ to, database }) => facts(to, database),
  });
  return { factsHandler, change: pgUpgradeChangeOf(s, facts) };
}

type UpgradeState = {
  phase: 'run' | 'finish';
  from: Ref;
  to: Ref;
  link: boolean;
  dropEmpty: boolean;
  peerMajor?: number;
  /** The pair's slots and subscriptions are re-created after pg_upgrade instead of carried by it. */
  rebuild?: boolean;
};

/** The journaled change: plan from the facts, run pg_upgradecluster in its unit, carry pgduplex's part, follow. */
function pgUpgradeChangeOf(s: AgentServices, facts: (to: number, database: string) => Promise<UpgradeFacts>) {
  const timeoutMs = s.limits.toolTimeoutMs;
  const database = () => s.pair.databases[0] ?? 'fusionpbx';
  const cluster = async (r: Ref) => resolveCluster(r);
  const rebuildWords = async (from: Ref, target: Ref): Promise<string[]> => {
    const c = await cluster(from);
    const specs = await Promise.all(s.pair.databases.map((database) => readRebuildSpec(c, { timeoutMs, database })));
    const subs = specs.flatMap((x) => x.subscriptions.map((y) => `subscription ${y.name}`));
    const objects = [...subs, ...specs.flatMap((x) => x.slots.map((y) => `slot ${y.name}`))].join(' and ');
    const foreign = specs.flatMap((x) => x.foreign);
    const old = Number(from.version) < 17;
    return [
      `park ${subs.join(', ')} and write down where each stopped (${rebuildFile(s.follow.dir, target.version)})`,
      ...(old ? [] : [`take ${objects} out of ${named(from)}, so pg_upgrade carries neither (put back if it fails)`]),
      `re-create ${objects} on ${named(target)}: each subscription resumes where it stopped, nothing copied again`,
      ...(old && foreign.length > 0
        ? [`pg_upgrade does not carry ${foreign.join(', ')} from ${from.version} (not pgduplex's: re-create them)`]
        : []),
    ];
  };
  const finish = async (st: UpgradeState): Promise<string[]> => {
    const [from, to] = await Promise.all([cluster(st.from), cluster(st.to)]);
    const carried = await carryFiles(from, to);
    if (carried.some((p) => p.endsWith('.conf'))) await serve('restart', to, timeoutMs);
    const mixed = st.peerMajor !== undefined && st.peerMajor !== Number(st.to.version);
    const rebuilt = await finishRebuild(s.follow.dir, st, from, to, !mixed, { timeoutMs: timeoutMs * 4 });
    for (const db of s.pair.databases) {
      await repointPassfile(from, to, db, timeoutMs);
      if (mixed) await binaryOff(to, db, timeoutMs);
    }
    await s.follow.set(st.from, st.to);
    return [
      ...carried.map((p) => `copied ${p} from the old cluster`),
      ...rebuilt,
      `this node serves ${named(st.to)} now; ${named(st.from)} ` +
        (st.link ? 'is not usable any more (--link)' : 'stays, stopped, as the way back until pg-upgrade --finish'),
    ];
  };
  return plannedChange(pgUpgradeChange, {
    async plan({ to, link, replaceEmpty, peerMajor, recreate }) {
      const f = await facts(to, database());
      const follow = s.follow.get()?.to;
      const target = { version: String(to), cluster: f.current.name };
      const record = (from: Ref) => ({ from, to: target, link });
      if (f.current.version === String(to)) {
        // pg_upgradecluster finished (the new cluster is on 5432) but its follow-up did not: finish it, from the
        // newest older cluster of that name (listClusters gives the newest first).
        const old = f.clusters.filter((c) => c.name === f.current.name && Number(c.version) < to).at(0);
        const finished = follow !== undefined && named(follow) === named(target);
        const rec = old === undefined ? null : await readRebuild(s.follow.dir, refOf(old), target);
        // A finish that did not re-create all the record names (or a crash in it) is not finished.
        const owed = rec !== null && (await rebuildOwed(rec, await cluster(target), { timeoutMs }));
        if ((finished && !owed) || old === undefined) return { changes: [], record: record(target), state: null };
        const st: UpgradeState = {
          phase: 'finish',
          from: refOf(old),
          to: target,
          link,
          dropEmpty: false,
          ...(peerMajor ? { peerMajor } : {}),
        };
        return {
          changes: [
            `finish the upgrade to ${named(target)}: carry pgduplex's files, ` +
              `${owed ? "re-create the pair's slots and subscriptions where they stopped, " : ''}serve it`,
          ],
          record: record(st.from),
          state: st,
        };
      }
      const from = refOf(f.current);
      const resuming = f.running;
      const rebuild = rebuilds(f, recreate);
      const bad = resuming ? undefined : refusal(f, to, link, replaceEmpty, rebuild);
      if (bad) throw bad;
      const dropEmpty = !resuming && f.target.existing !== null;
      const pair =
        rebuild && !resuming
          ? await rebuildWords(from, target)
          : [`keep the pair's slots, subscriptions and their progress`];
      return {
        changes: [
          ...(resuming ? [`wait for the upgrade already under way (${UPGRADE_UNIT}.service)`] : []),
          ...(dropEmpty ? [`drop the empty cluster ${named(target)} that installing postgresql-${to} made`] : []),
          `upgrade ${named(from)} to ${named(target)} with pg_upgradecluster ` +
            (link
              ? '--link (hard links: fast, no copy; the old cluster is not usable once the new one started)'
              : `(copy: about ${gb(f.disk.clusterBytes)} more on disk; the old cluster stays, stopped: the way back)`),
          ...pair,
          `carry pgduplex's settings, pg_hba block and passfile to the new cluster`,
          `serve ${named(target)} from now on`,
        ],
        record: { ...record(from), ...(rebuild ? { rebuild } : {}) },
        state: {
          phase: 'run',
          from,
          to: target,
          link,
          dropEmpty,
          ...(rebuild ? { rebuild } : {}),
          ...(peerMajor ? { peerMajor } : {}),
        } satisfies UpgradeState,
      };
    },
    async make({ state: st }, rollback, ctx) {
      if (st === null) return;
      if (st.phase === 'finish') return { notes: await finish(st) };
      const files = runFiles(s.follow.dir, Number(st.to.version));
      const notes: string[] = [];
      const tick = () => ctx?.progress(`pg_upgradecluster ${named(st.from)} -> ${named(st.to)} is running`);
      const t = { timeoutMs: timeoutMs * 4 };
      // What a failure puts back once the old cluster runs again (the pair's objects come from the record on disk,
      // so a re-run that only waited for the unit puts them back too).
      const putBack = async () => {
        await rollback(() => restoreRebuild(s.follow.dir, st, cluster(st.from), t));
        if (st.dropEmpty)
          await rollback(() => clusterTool(['pg_createcluster', '--start', st.to.version, st.to.cluster], t.timeoutMs));
      };
      if (!(await upgradeRunning(timeoutMs))) {
        try {
          if (st.dropEmpty) await clusterTool(['pg_dropcluster', '--stop', st.to.version, st.to.cluster], t.timeoutMs);
          if (st.rebuild)
            notes.push(...(await prepareRebuild(s.follow.dir, st, await cluster(st.from), s.pair.databases, t)));
          await startUpgrade(await cluster(st.from), Number(st.to.version), st.link, files, timeoutMs);
        } catch (err) {
          await putBack();
          throw err;
        }
      }
      const rc = await waitUpgrade(files, 6 * 3_600_000, tick);
      if (rc !== 0) {
        const [tail, cause] = await Promise.all([logTail(files), upgradeCause(files)]);
        await bringBack(st, timeoutMs);
        await putBack();
        throw new PgduplexError(
          'PG_UPGRADE_FAILED',
          `pg_upgradecluster ${named(st.from)} -> ${st.to.version} failed (exit ${rc ?? 'none: it was killed'}); ` +
            `${named(st.from)} runs again as before.${cause ? ` pg_upgrade says: ${cause}.` : ''} ` +
            `Its last lines (all in ${files.log}):\n${tail}`,
          { hint: failedHint(cause, st.rebuild === true) },
        );
      }
      return { notes: [...notes, `pg_upgradecluster's output: ${files.log}`, ...(await finish(st))] };
    },
    async undo(r) {
      throw new PgduplexError('REFUSED', `the upgrade ${named(r.from)} -> ${named(r.to)} is not undone by pgduplex`, {
        hint: r.link
          ? 'it was made with --link: the old cluster is gone; restore from a backup'
          : `the old cluster ${named(r.from)} is kept, stopped: see the README (pg-upgrade, the way back)`,
      });
    },
  });
}

/** What to do after pg_upgrade refused: its slot and subscription conditions have a way round, re-creating them. */
export function failedHint(cause: string | undefined, rebuilt: boolean): string {
  const pair = /replication slots?|has not consumed|subscription/i.test(cause ?? '');
  return pair && !rebuilt
    ? "the pair's slot or subscription did not meet pg_upgrade's conditions: re-run with --recreate-replication " +
        '(pgduplex re-creates them where they stopped, without a copy)'
    : 'fix what it names, then re-run pgduplex pg-upgrade';
}

/** After a failed run: the half-made new cluster goes, the old one runs again on its port, as before. */
async function bringBack(st: UpgradeState, timeoutMs: number): Promise<void> {
  const views = await clusterViews(timeoutMs);
  const made = views.find((v) => v.version === st.to.version && v.name === st.to.cluster);
  if (made) await clusterTool(['pg_dropcluster', '--stop', st.to.version, st.to.cluster], timeoutMs * 4);
  const old = views.find((v) => v.version === st.from.version && v.name === st.from.cluster);
  if (old && !old.running) await serve('start', old.c, timeoutMs);
}

/**
 * Starts a cluster through its systemd unit and waits until it accepts connections. Not pg_ctlcluster in a transient
 * unit: run from PID 1 it does not hand over to systemd, and the server dies with that unit.
 */
async function serve(verb: 'start' | 'restart', c: Cluster, timeoutMs: number): Promise<void> {
  const r = await startCluster(verb, c, await controlVia(), { timeoutMs, startTimeoutMs: timeoutMs * 4 });
  if (!r.up)
    throw new PgduplexError('PG_UNREACHABLE', `PostgreSQL ${c.version}/${c.name} did not ${verb}: ${r.reason}`, {
      hint: `check "systemctl status ${c.service}" and its log`,
    });
}
