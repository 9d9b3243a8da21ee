import { agentUp } from '../lab/agent-rpc.js';
import { LAB, type NodeName } from '../lab/constants.js';
import { nodeExec } from '../lab/exec.js';
import { waitFor } from '../lab/http.js';
import { run } from '../lab/sh.js';
import { trySql } from '../lab/sql.js';
import type { SetupRun } from './setup-run.js';

/** One kind of failure: how to cause it, and how to take it away again. */
export interface Fault {
  name: string;
  /** What the fault does, for the report. */
  what: string;
  /** `run` is the CLI the fault hits; undefined for a fault put in place before it starts. */
  inject(run: SetupRun | undefined): Promise<void>;
  heal(): Promise<void>;
  /** The fault stays at least this long (a partition must outlast the CLI's timeouts). */
  holdMs?: number;
}

const PG_UNIT = `postgresql@${LAB.pgVersion}-main`;
const BACKUP_DIR = '/var/backups/pgduplex';

/**
 * kill -9 by pid, never `systemctl kill` of a whole unit: the lab's nodes share one host cgroup tree, so
 * a unit's cgroup also holds the other nodes' (and other labs') processes of the same unit.
 */
export const killMainPid = (node: NodeName, unit: string): Promise<unknown> =>
  nodeExec(node, [
    'bash',
    '-c',
    'pid=$(systemctl show -P MainPID "$1"); [ "$pid" -gt 0 ] && kill -9 "$pid"',
    'kill-main',
    unit,
  ]);

const killAgent = (node: NodeName): Fault => ({
  name: `kill -9 agent ${node}`,
  what: `kill -9 of pgduplex-agent's main pid on ${node}; systemd restarts it`,
  inject: async () => void (await killMainPid(node, 'pgduplex-agent')),
  heal: async () => void (await agentUp(node)),
});

/** Cuts b off (or back on) with silent drops at the switch: b's bridge port stops forwarding, both links stay up. */
export const cutB = async (cut: boolean): Promise<void> =>
  void (await run('bridge', ['-n', LAB.switchNs, 'link', 'set', 'dev', LAB.nodes.b.swPort, 'state', cut ? '0' : '3']));

const partition: Fault = {
  name: 'partition a|b',
  what: `b's switch port disabled (frames dropped, carrier up) until the CLI gave up, at least 45 s`,
  holdMs: 45_000,
  inject: () => cutB(true),
  heal: () => cutB(false),
};

/** The faults injected at every step boundary. */
export const BOUNDARY_FAULTS: readonly Fault[] = [
  killAgent('a'),
  killAgent('b'),
  {
    name: 'kill -9 CLI',
    what: 'kill -9 of the CLI process on a',
    inject: async (r) => void (await r?.kill()),
    heal: async () => undefined,
  },
  partition,
];

/**
 * kill -9 of b's postmaster together with its children in the same instant (Debian's unit does not
 * restart it); healed by starting it again. Children left alive would keep the unit in 'deactivating'
 * for its 1 h stop timeout here, since the unit's cgroup is shared with other nodes and never empties.
 */
export const PG_CRASH: Fault = {
  name: 'kill -9 postmaster b',
  what: `kill -9 of b's postmaster and its children at once; ${PG_UNIT} started again by the suite`,
  inject: async () =>
    void (await nodeExec('b', [
      'bash',
      '-c',
      'pm=$(head -1 /var/lib/postgresql/*/main/postmaster.pid) && kill -9 "$pm" $(cat /proc/"$pm"/task/*/children)',
    ])),
  heal: async () => {
    await waitFor(
      `${PG_UNIT} on b to stop`,
      async () => (await nodeExec('b', ['systemctl', 'is-active', PG_UNIT], { reject: false })).stdout.trim(),
      (s) => s !== 'active' && s !== 'deactivating',
      60_000,
    );
    await nodeExec('b', ['systemctl', 'start', PG_UNIT], { timeoutMs: 300_000 });
    await waitFor(
      'PostgreSQL on b to answer',
      () => trySql('b', 'select 1'),
      (x) => x === '1',
      120_000,
    );
  },
};

/** A 64 KiB tmpfs over b's backup directory: b's dump cannot fit; healed by unmounting it. */
export const DISK_FULL: Fault = {
  name: 'full backup disk b',
  what: `64 KiB tmpfs mounted over ${BACKUP_DIR} on b`,
  inject: async () =>
    void (await nodeExec('b', ['mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'pgdx-full', BACKUP_DIR])),
  heal: async () => void (await nodeExec('b', ['umount', BACKUP_DIR])),
};
