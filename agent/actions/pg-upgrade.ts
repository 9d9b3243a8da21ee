import { existsSync } from 'node:fs';
import { lstat, readFile, rmdir, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import {
  pgClusterDropChange,
  pgUpgradeChange,
  rebuilds,
  upgradeFactsAction,
  type UpgradeFacts,
} from '../../shared/protocol/upgrade.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { DROPIN_NAME } from '../postgres/settings-file.js';
import { PASSFILE_NAME } from './pg-passfile.js';
import { clusterViews, viewOnly } from '../postgres/cluster-views.js';
import { queryJson } from '../postgres/psql.js';
import { EMPTY_CLUSTER_SQL, UPGRADE_FACTS_SQL } from '../postgres/upgrade-facts-sql.js';
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
  type RunFiles,
} from '../postgres/upgrade-run.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** FS PBX's services that hold the database (calls, web, queue workers): the upgrade cuts them off for its length. */
const PBX_SERVICES = /^(freeswitch|nginx|php[\d.]*-fpm|supervisor|cron)\.service$/;

type Views = Awaited<ReturnType<typeof clusterViews>>;
type Live = { sessions: UpgradeFacts['sessions']; slots: UpgradeFacts['slots'] } & {
  subscriptions: UpgradeFacts['subscriptions'];
  clusterBytes: number;
  columnOptions: string[];
};

/** PostgreSQL's own column options; a newer minor may add one (17.12's pg_attver) an older other major lacks. */
const KNOWN_COLUMN_OPTIONS = new Set(['n_distinct', 'n_distinct_inherited']);

/** Column options the target's pg_dump has never heard of: its binary does not even hold their names. */
async function unknownToTarget(options: readonly string[], to: number): Promise<string[]> {
  const odd = options.filter((o) => !KNOWN_COLUMN_OPTIONS.has(o));
  if (odd.length === 0) return [];
  const bin = await readFile(`/usr/lib/postgresql/${to}/bin/pg_dump`).catch(() => null);
  return bin === null ? [] : odd.filter((o) => !bin.includes(o));
}

async function runningPbxServices(timeoutMs: number): Promise<string[]> {
  const r = await execa('systemctl', ['list-units', '--type=service', '--state=running', '--no-legend', '--plain'], {
    reject: false,
    timeout: timeoutMs,
  });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((u) => PBX_SERVICES.test(u));
}

/** Where one node's upgrade runs keep their output and exit code (beside the agent's state). */
export const runFiles = (stateDir: string, to: number): RunFiles => ({
  log: join(stateDir, `pg-upgrade-${to}.log`),
  rc: join(stateDir, `pg-upgrade-${to}.rc`),
});

/** `upgrade.facts` and `pg-upgrade`: the node's own major upgrade, asked for by its own operator only. */
export function pgUpgradeActions(s: AgentServices) {
  const timeoutMs = s.limits.toolTimeoutMs;
  const served = async (views: Views) => {
    const c = await resolveCluster(s.postgresql);
    const view = views.find((v) => v.version === c.version && v.name === c.name);
    if (!view) throw new PgduplexError('CLUSTER_NOT_FOUND', `cluster ${c.version}/${c.name} is not listed`);
    return view;
  };
  const live = async (c: Cluster, running: boolean, database: string): Promise<Live> =>
    running
      ? queryJson<Live>(c, UPGRADE_FACTS_SQL, { timeoutMs, database })
      : { sessions: [], slots: [], subscriptions: [], clusterBytes: 0, columnOptions: [] };

  const facts = async (to: number, database: string): Promise<UpgradeFacts> => {
    const views = await clusterViews(timeoutMs);
    const current = await served(views);
    // While pg_upgradecluster runs, both clusters come and go: what they hold is not read then.
    const running = await upgradeRunning(timeoutMs);
    const existingView = views.find((v) => v.version === String(to) && v.name === current.name);
    const unknown = { empty: null, databases: [] };
    const existing = existingView
      ? {
          running: existingView.running,
          ...(existingView.running && !running
            ? await queryJson<{ databases: string[]; objects: number }>(existingView.c, EMPTY_CLUSTER_SQL, {
                timeoutMs,
              }).then(
                (e) => ({ empty: e.databases.length === 0 && e.objects === 0, databases: e.databases }),
                () => unknown,
              )
            : unknown),
        }
      : null;
    const [l, disk, services] = await Promise.all([
      live(current.c, current.running && !running, database),
      statfs(dirname(current.dataDir)),
      runningPbxServices(timeoutMs),
    ]);
    const toRef = { version: String(to), cluster: current.name };
    const parked =
      !running && current.version !== String(to) && (await readRebuild(s.follow.dir, refOf(current), toRef)) !== null;
    const replaced = (s.follow.get()?.replaced ?? []).flatMap((r) =>
      views.filter((v) => v.version === r.version && v.name === r.cluster).map(viewOnly),
    );
    return {
      current: viewOnly(current),
      clusters: views.map(viewOnly),
      target: {
        major: to,
        installed: existsSync(`/usr/lib/postgresql/${to}/bin/pg_upgrade`),
        packages: [`postgresql-${to}`, `postgresql-client-${to}`],
        existing,
      },
      disk: { clusterBytes: l.clusterBytes, freeBytes: disk.bavail * disk.bsize },
      unknownColumnOptions: await unknownToTarget(l.columnOptions, to),
      sessions: l.sessions,
      services,
      slots: l.slots,
      subscriptions: l.subscriptions,
      running,
      parked,
      replaced,
    };
  };

  const factsHandler = defineHandler({
    descriptor: upgradeFactsAction,
    run: ({ to, database }) => facts(to, database),
  });
  return { factsHandler, change: pgUpgradeChangeOf(s, facts) };
}

type Ref = { version: string; cluster: string };
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

const refOf = (v: { version: string; name: string }): Ref => ({ version: v.version, cluster: v.name });
const named = (r: Ref) => `${r.version}/${r.cluster}`;
const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

/** Why the plan cannot go on, with what to do; the facts checked here are the agent's own, whoever asks. */
export function refusal(
  f: UpgradeFacts,
  to: number,
  link: boolean,
  replaceEmpty: boolean,
  rebuild = false,
): PgduplexError | undefined {
  const from = f.current;
  if (Number(from.version) > to)
    return new PgduplexError('REFUSED', `this node runs PostgreSQL ${from.version}, newer than ${to}`, {
      hint: 'pg-upgrade goes to a newer major only',
    });
  if (!f.target.installed)
    return new PgduplexError('TOOL_MISSING', `PostgreSQL ${to} is not installed on this node`, {
      hint: `install it first: apt-get install ${f.target.packages.join(' ')} (then re-run)`,
    });
  const users = [...f.services, ...f.sessions.map((x) => `a session of ${x.user} from ${x.client}`)];
  if (rebuild && users.length > 0)
    return new PgduplexError(
      'REFUSED',
      `the pair's slot here is re-created after the upgrade${
        Number(from.version) < 17 ? ` (pg_upgrade carries none ` + `from ${from.version})` : ''
      }: a write made here before it exists would never reach the peer, and ` +
        `${users.slice(0, 4).join(', ')} can write`,
      { hint: 'stop them for the upgrade (the peer takes the calls meanwhile), then re-run' },
    );
  if (!from.running)
    return new PgduplexError('PG_UNREACHABLE', `PostgreSQL ${named(refOf(from))} is not running`, {
      hint: `start it (systemctl start postgresql@${from.version}-${from.name}); an upgrade starts from a running pair`,
    });
  const e = f.target.existing;
  if (e && !(replaceEmpty && e.empty === true))
    return new PgduplexError('REFUSED', `a cluster ${to}/${from.name} exists already${e.empty ? ' (empty)' : ''}`, {
      hint: e.empty
        ? `installing postgresql-${to} made it; pass --replace-empty to drop it (it holds no database) and upgrade`
        : e.empty === null
          ? `start it (pg_ctlcluster ${to} ${from.name} start) so pgduplex can check it is empty, or remove it`
          : `it holds ${e.databases.join(', ')}: move them and remove it yourself (pg_dropcluster ${to} ${from.name})`,
    });
  if (!link && f.disk.freeBytes < f.disk.clusterBytes * 1.1 + 512 * 1024 ** 2)
    return new PgduplexError(
      'REFUSED',
      `copy mode needs about ${gb(f.disk.clusterBytes * 1.1)} free beside ${from.dataDir}; ${gb(f.disk.freeBytes)} is`,
      { hint: 'free space, or pass --link (fast, but no way back once the new cluster has started)' },
    );
  if (f.unknownColumnOptions.length > 0)
    return new PgduplexError(
      'REFUSED',
      `PostgreSQL ${from.version}'s columns carry ${f.unknownColumnOptions.join(', ')}, which the installed ` +
        `PostgreSQL ${to} does not know: pg_upgrade would fail restoring the schema, with ${from.version} down`,
      { hint: `install a newer postgresql-${to} (released after this node's ${from.version} minor), then re-run` },
    );
  const lost = f.slots.filter((x) => x.walStatus === 'lost');
  if (lost.length > 0)
    return new PgduplexError('REPLICATION_BROKEN', `slot ${lost.map((x) => x.name).join(', ')} has lost its WAL`, {
      hint: 'pg_upgrade carries only usable slots: repair the pair first (pgduplex status says how)',
    });
  const syncing = f.subscriptions.filter((x) => x.notReady > 0);
  if (syncing.length > 0)
    return new PgduplexError(
      'REFUSED',
      `subscription ${syncing[0]!.name} still copies ${syncing[0]!.notReady} tables`,
      {
        hint: 'wait until every table is ready (pgduplex status), then re-run',
      },
    );
  return undefined;
}

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
    if (carried.some((p) => p.endsWith('.conf')))
      await clusterTool(['pg_ctlcluster', to.version, to.name, 'restart'], timeoutMs * 4);
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
          { hint: 'fix what it names, then re-run pgduplex pg-upgrade' },
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

/** After a failed run: the half-made new cluster goes, the old one runs again on its port, as before. */
async function bringBack(st: UpgradeState, timeoutMs: number): Promise<void> {
  const views = await clusterViews(timeoutMs);
  const made = views.find((v) => v.version === st.to.version && v.name === st.to.cluster);
  if (made) await clusterTool(['pg_dropcluster', '--stop', st.to.version, st.to.cluster], timeoutMs * 4);
  const old = views.find((v) => v.version === st.from.version && v.name === st.from.cluster);
  if (old && !old.running)
    await clusterTool(['pg_ctlcluster', st.from.version, st.from.cluster, 'start'], timeoutMs * 4);
}

/** Removes pgduplex's files from a dropped cluster's config dir, and the dir when nothing else is left. */
async function removeLeftovers(configDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of [join('conf.d', DROPIN_NAME), PASSFILE_NAME]) {
    const path = join(configDir, rel);
    if ((await lstat(path).catch(() => null))?.isFile()) {
      await unlink(path);
      removed.push(`removed ${path}`);
    }
  }
  for (const dir of [join(configDir, 'conf.d'), configDir]) await rmdir(dir).catch(() => undefined);
  return removed;
}

/** `pg-cluster-drop`: removes a stopped cluster an upgrade replaced (pg-upgrade --finish), never any other. */
export const pgClusterDropAction = (s: AgentServices) => {
  const timeoutMs = s.limits.toolTimeoutMs;
  return plannedChange(pgClusterDropChange, {
    async plan({ version, cluster }) {
      const ref = { version, cluster };
      const views = await clusterViews(timeoutMs);
      const v = views.find((x) => x.version === version && x.name === cluster);
      const record = { version, cluster, dataDir: v?.dataDir ?? '' };
      if (!v) return { changes: [], record, state: null };
      if (!(s.follow.get()?.replaced ?? []).some((r) => named(r) === named(ref)))
        throw new PgduplexError('REFUSED', `${named(ref)} is not a cluster a pg-upgrade replaced here`, {
          hint: 'pgduplex removes only the old cluster of its own upgrade; remove others yourself',
        });
      const now = await resolveCluster(s.postgresql);
      if (now.version === version && now.name === cluster)
        throw new PgduplexError('REFUSED', `${named(ref)} is the cluster this node serves`);
      if (v.running)
        throw new PgduplexError('REFUSED', `${named(ref)} is running`, {
          hint: `stop it first (pg_ctlcluster ${version} ${cluster} stop) if nothing uses it`,
        });
      return {
        changes: [`remove the old cluster ${named(ref)} and its data directory ${v.dataDir}`],
        record,
        state: v,
      };
    },
    async make({ state }) {
      if (!state) return;
      await clusterTool(['pg_dropcluster', state.version, state.name], timeoutMs * 4);
      // pg_dropcluster leaves files it did not make: ours (the passfile holds the pair's password) go too.
      return { notes: await removeLeftovers(state.c.configDir) };
    },
    async undo(r) {
      throw new PgduplexError('REFUSED', `the removed cluster ${r.version}/${r.cluster} cannot be brought back`, {
        hint: 'the backup pg-upgrade --finish took before it holds its data',
      });
    },
  });
};
