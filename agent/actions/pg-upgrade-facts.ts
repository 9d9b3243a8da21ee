import { existsSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import type { UpgradeFacts } from '../../shared/protocol/upgrade.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { clusterViews, viewOnly } from '../postgres/cluster-views.js';
import { queryJson } from '../postgres/psql.js';
import { EMPTY_CLUSTER_SQL, UPGRADE_FACTS_SQL } from '../postgres/upgrade-facts-sql.js';
import { upgradeRunning, type RunFiles } from '../postgres/upgrade-run.js';
import type { AgentServices } from './context.js';
import { readRebuild } from './pg-upgrade-rebuild.js';

/** FS PBX's services that hold the database (calls, web, queue workers): the upgrade cuts them off for its length. */
const PBX_SERVICES = /^(freeswitch|nginx|php[\d.]*-fpm|supervisor|cron)\.service$/;

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

/** A cluster as the upgrade's state names it. */
export type Ref = { version: string; cluster: string };
/** The ref of a listed cluster. */
export const refOf = (v: { version: string; name: string }): Ref => ({ version: v.version, cluster: v.name });
/** `17/main`, as messages name a cluster. */
export const named = (r: Ref) => `${r.version}/${r.cluster}`;

type Views = Awaited<ReturnType<typeof clusterViews>>;

/** What `upgrade.facts` answers: the node's clusters, the target's packages, disk, users and the pair's objects. */
export function upgradeFactsOf(s: AgentServices): (to: number, database: string) => Promise<UpgradeFacts> {
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

  return async (to: number, database: string): Promise<UpgradeFacts> => {
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
}
