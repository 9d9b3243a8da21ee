import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/http.js';
import { nodeExec, type NodeName } from '../../lab/index.js';
import { labSql, nodeSnapshot, type NodeSnapshot } from '../../lab/node-snapshot.js';
import { cleanUpLabPair, onBoth as both, pgduplex as cli } from '../../lab/setup-pair.js';
import { pairLabNodes } from '../../lab/pair.js';

// The review's racer against every file the agent writes during a real `pgduplex setup` and `pgduplex teardown`:
// on both nodes a process running as postgres watches each directory postgres can write (inotify) and renames a
// symlink to a root-owned canary over each new temp file. The agent must never write, chown or chmod through it:
// every canary keeps owner, mode and content, no other file changes owner or mode, and each raced run either
// succeeds or fails in one line naming the swapped temp file, so that re-running finishes setup and teardown.
const RACER = readFileSync(new URL('./symlink-racer.mjs', import.meta.url), 'utf8');
const CONFIG = '/etc/postgresql/17/main';
const DIRS = [CONFIG, `${CONFIG}/conf.d`, '/var/lib/postgresql', '/var/lib/postgresql/17/main'];
// Root-only files where the agent's unit may write (ProtectSystem=strict leaves it its state, backups and
// /etc/postgresql): elsewhere the sandbox, not the code, would keep them safe. The identity key is the real prize.
const MADE = [
  '/var/lib/pgduplex/pgdx-canary',
  '/var/backups/pgduplex/pgdx-canary',
  '/etc/postgresql/pgdx-canary-shadow',
];
const CANARIES = [...MADE, '/var/lib/pgduplex/identity.json'];
const OUT = '/var/tmp/pgdx-racer.json';
/** The files the agent writes in those directories: the only ones a run may name as swapped. */
const TARGETS = [`${CONFIG}/conf.d/50-pgduplex.conf`, `${CONFIG}/pg_hba.conf`, `${CONFIG}/pgduplex.pgpass`];
const FIXTURE = `create table race_notes (id bigserial primary key, note text);
insert into race_notes (note) select 'n' || g from generate_series(1, 30) g;`;
const MAX_RUNS = 14;

interface RacerStats {
  watching: string[];
  seen: number;
  raced: number;
  caught: Record<string, number>;
  lost: number;
  passed: number;
  errors: string[];
}

const sh = async (node: NodeName, script: string) => (await nodeExec(node, ['bash', '-c', script])).stdout;

const MAKE_CANARIES = `umask 077; for f in ${MADE.join(' ')}; do head -c 48 /dev/urandom | base64 > $f; done
chown root:shadow ${MADE[2]}; chmod 0640 ${MADE[2]}`;
/** Owner, mode, type and content of each canary (and of the real prizes the agent keeps). */
const CANARY_STATE = `stat -c '%n %U:%G %a %F' ${CANARIES.join(' ')} /etc/shadow; sha256sum ${CANARIES.join(' ')} /etc/shadow`;
/** Owner and mode of everything in the raced directories and the agent's own: a wrong chown shows here. */
const OWNERS = `{ find ${CONFIG} /etc/pgduplex /var/lib/pgduplex /var/backups/pgduplex -printf '%p %u:%g %m %y\\n'
find ${DIRS.slice(2).join(' ')} -maxdepth 1 -printf '%p %u:%g %m %y\\n'; } 2>/dev/null | sort`;
const LEFTOVERS = `find ${DIRS.join(' ')} -maxdepth 1 \\( -name '*.pgduplex-tmp' -o -name '.pgdx-racer-*' \\) -print`;

const owners = async (node: NodeName) =>
  new Map(
    (await sh(node, OWNERS))
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const),
  );

async function startRacer(node: NodeName): Promise<void> {
  await stopRacer(node);
  await nodeExec(node, ['bash', '-c', `cat > /var/tmp/pgdx-racer.mjs && chmod 0644 /var/tmp/pgdx-racer.mjs`], {
    input: RACER,
  });
  await sh(node, `rm -f ${OUT}`);
  const config = JSON.stringify({ dirs: DIRS, canaries: CANARIES, out: OUT });
  await nodeExec(node, [
    'systemd-run',
    '--unit=pgdx-racer',
    '--collect',
    '--uid=postgres',
    '--gid=postgres',
    '/usr/bin/node',
    '/var/tmp/pgdx-racer.mjs',
    config,
  ]);
  await waitFor(
    `the racer on ${node} to watch`,
    () => racerStats(node),
    (s) => s?.watching.length === DIRS.length,
  );
}

async function racerStats(node: NodeName): Promise<RacerStats | undefined> {
  const text = await sh(node, `cat ${OUT} 2>/dev/null || true`);
  return text.trim() === '' ? undefined : (JSON.parse(text) as RacerStats);
}

async function stopRacer(node: NodeName): Promise<RacerStats | undefined> {
  await nodeExec(node, ['systemctl', 'stop', 'pgdx-racer'], { reject: false });
  return racerStats(node);
}

/** How a phase of raced runs went: the files the agent refused swapped temp files of, and any other failure. */
interface Raced {
  done: boolean;
  named: string[];
  other: string[];
}

/**
 * Runs a command until it succeeds, with the racers on. A failed run should be the agent refusing a swapped temp
 * file (named in one line); anything else ends the phase and is kept for the assertions (so that the canaries are
 * still judged after it).
 */
async function raceUntilDone(args: string[]): Promise<Raced> {
  const raced: Raced = { done: false, named: [], other: [] };
  for (let run = 1; run <= MAX_RUNS; run++) {
    const r = await cli('a', ...args);
    if (r.exitCode === 0) return { ...raced, done: true };
    const swapped = /the temp file for (\S+) (was replaced by something else|goes)/.exec(r.stderr);
    if (!swapped || /\n\s+at /.test(r.stderr)) {
      raced.other.push(`run ${run} of ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      return raced;
    }
    raced.named.push(swapped[1] ?? '');
  }
  return raced;
}

let before: { canaries: string[]; owners: Array<Map<string, string>>; nodes: NodeSnapshot[] };
const stats: Record<'setup' | 'teardown', RacerStats[]> = { setup: [], teardown: [] };
const phases: Record<'setup' | 'teardown', Raced> = {
  setup: { done: false, named: [], other: [] },
  teardown: { done: false, named: [], other: [] },
};

beforeAll(async () => {
  await pairLabNodes();
  await labSql('a', FIXTURE);
  await both((n) => sh(n, MAKE_CANARIES));
  before = {
    canaries: await both((n) => sh(n, CANARY_STATE)),
    owners: await both(owners),
    nodes: await both(nodeSnapshot),
  };
  await both(startRacer);
  phases.setup = await raceUntilDone(['setup']);
  stats.setup = (await both(stopRacer)).map((s) => s as RacerStats);
  await both(startRacer);
  phases.teardown = await raceUntilDone(['teardown', '--yes']);
  stats.teardown = (await both(stopRacer)).map((s) => s as RacerStats);
}, 1_800_000);

afterAll(async () => {
  await both(stopRacer);
  await both((n) => sh(n, `${LEFTOVERS} -delete; rm -f ${MADE.join(' ')} ${OUT} /var/tmp/pgdx-racer.mjs`));
  await cleanUpLabPair(['race_notes']);
}, 600_000);

describe('postgres-owned symlinks raced against every file the agent writes', () => {
  it('every raced run of setup and teardown succeeded or failed in one line naming a swapped temp file', () => {
    for (const phase of ['setup', 'teardown'] as const) {
      expect(phases[phase].other).toEqual([]);
      for (const file of phases[phase].named) expect(TARGETS).toContain(file);
      expect(phases[phase].done, `${phase} did not finish in ${MAX_RUNS} raced runs`).toBe(true);
    }
  });

  it('the racer fired: it raced temp files on both nodes in setup and teardown, and the agent caught them', () => {
    for (const phase of ['setup', 'teardown'] as const) {
      const counts = stats[phase].map((s) => ({ raced: s.raced, lost: s.lost, passed: s.passed, caught: s.caught }));
      console.info(`${phase}: ${phases[phase].named.length} runs refused a swapped temp file; racers (a, b):`, counts);
      for (const s of stats[phase]) {
        expect(s.errors).toEqual([]);
        expect(s.raced).toBeGreaterThan(0);
        expect(Object.keys(s.caught).length).toBeGreaterThan(0);
      }
      // Raced runs failed and had to be re-run: the race hit the agent's window, not only after it.
      expect(phases[phase].named.length).toBeGreaterThan(0);
    }
    const caught = [...stats.setup, ...stats.teardown].flatMap((s) => Object.keys(s.caught));
    for (const target of TARGETS) expect(caught).toContain(target);
  });

  it('every canary kept its owner, mode and content', async () => {
    expect(await both((n) => sh(n, CANARY_STATE))).toEqual(before.canaries);
  });

  it('no file changed owner or mode, and neither temp files nor symlinks are left', async () => {
    const now = await both(owners);
    for (const [i, map] of now.entries()) {
      const was = before.owners[i] as Map<string, string>;
      const changed = [...map].filter(([path, v]) => was.has(path) && was.get(path) !== v);
      expect(changed.map(([p, v]) => `${p}: ${was.get(p)} -> ${v}`)).toEqual([]);
      // Only files that belong there came or went (the data directory's own, the backups', the journal's).
      const added = [...map.keys()].filter((p) => !was.has(p) && !p.startsWith('/var/lib/postgresql/17/main/'));
      expect(added.filter((p) => !p.startsWith('/var/backups/') && !p.startsWith('/var/lib/pgduplex/'))).toEqual([]);
    }
    expect(await both((n) => sh(n, LEFTOVERS))).toEqual(['', '']);
  });

  it('after the raced teardown both nodes are as they were before the raced setup', async () => {
    const [a, b] = await both(nodeSnapshot);
    const [wasA, wasB] = before.nodes as [NodeSnapshot, NodeSnapshot];
    expect(a).toEqual(wasA);
    expect({ ...b, sequences: {} }).toEqual({ ...wasB, sequences: {} });
  });
});
