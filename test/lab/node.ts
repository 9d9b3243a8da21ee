// One node's lifecycle: overlay root, boot under systemd-nspawn, wait for systemd, power off.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { LAB, machineName, nodePaths, overlaySource, type NodeName } from './constants.js';
import { mountsUnder } from './mounts.js';
import { containerInitOf, isAlive, signal, waitExit } from './proc.js';
import { LabError, run, say, sleep, tryRun } from './sh.js';

function hostsFile(): string {
  const { a, b } = LAB.nodes;
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${a.ipv4}\t${a.hostname}`,
    `${b.ipv4}\t${b.hostname}`,
    `${a.ipv6}\t${a.hostname}`,
    `${b.ipv6}\t${b.hostname}`,
    '',
  ].join('\n');
}

/** Why: each node gets a private writable layer over the shared cached base. */
export async function mountNode(node: NodeName, base: string): Promise<string> {
  const p = nodePaths(node);
  if (existsSync(p.dir)) throw new LabError(`${p.dir} already exists (run lab down first)`);
  for (const d of [p.upper, p.work, p.merged]) mkdirSync(d, { recursive: true, mode: 0o755 });
  await run('mount', [
    '-t',
    'overlay',
    overlaySource(node),
    '-o',
    `lowerdir=${base},upperdir=${p.upper},workdir=${p.work}`,
    p.merged,
  ]);
  // Identity files land in the upper layer before boot.
  writeFileSync(`${p.merged}/etc/hostname`, `${LAB.nodes[node].hostname}\n`);
  writeFileSync(`${p.merged}/etc/hosts`, hostsFile());
  writeFileSync(`${p.merged}/etc/machine-id`, `${randomBytes(16).toString('hex')}\n`);
  return p.merged;
}

function consoleTail(node: NodeName, lines = 25): string {
  try {
    return readFileSync(nodePaths(node).console, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console log)';
  }
}

/** Why: nspawn must outlive the CLI process that starts it, logging its console to a file. */
export async function bootNode(
  node: NodeName,
  opts: { unifiedCgroup?: boolean } = {},
): Promise<{ nspawnPid: number; pid: number }> {
  const p = nodePaths(node);
  const n = LAB.nodes[node];
  // sh execs nspawn with its output appended to the console log (a real fd, no pipe to us),
  // so the node keeps running after the process that started it exits.
  const sub = execa(
    'sh',
    [
      '-c',
      'exec "$0" "$@" >>"$LAB_CONSOLE" 2>&1',
      'systemd-nspawn',
      '-D',
      p.merged,
      '-b',
      '--register=no',
      '--keep-unit',
      '--console=passive',
      '--capability=CAP_NET_ADMIN,CAP_NET_RAW',
      `--network-namespace-path=/run/netns/${n.netns}`,
      `--hostname=${n.hostname}`,
      `--machine=${machineName(node)}`,
      '--link-journal=no',
      '--resolv-conf=off',
      '--timezone=off',
    ],
    {
      detached: true,
      cleanup: false,
      reject: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'ignore',
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        LAB_CONSOLE: p.console,
        // sid's systemd (>= 258) refuses this cgroup-v1 host; nspawn then gives it the unified hierarchy.
        ...(opts.unifiedCgroup ? { SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' } : {}),
      },
      extendEnv: false,
    },
  );
  sub.catch(() => undefined);
  sub.unref();
  const nspawnPid = sub.pid;
  if (nspawnPid === undefined) throw new LabError(`node ${node}: systemd-nspawn did not start`);
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    const pid = containerInitOf(nspawnPid);
    if (pid !== null) return { nspawnPid, pid };
    if (!isAlive(nspawnPid)) break;
    await sleep(100);
  }
  throw new LabError(
    `node ${node}: systemd did not start under nspawn (pid ${nspawnPid}); console:\n${consoleTail(node)}`,
  );
}

/** Why: tests may only start once systemd finished booting (running, or degraded with a reason). */
export async function waitRunning(
  node: NodeName,
  pid: number,
  nspawnPid: number,
  timeoutMs = 120_000,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  let state = 'unknown';
  while (Date.now() < end) {
    if (!isAlive(nspawnPid)) {
      throw new LabError(`node ${node}: systemd-nspawn exited during boot; console:\n${consoleTail(node)}`);
    }
    const r = await tryRun('nsenter', ['-t', String(pid), '-a', 'systemctl', 'is-system-running'], {
      timeoutMs: 10_000,
    });
    state = r.stdout.trim() || r.stderr.trim().split('\n')[0] || 'unknown';
    if (state === 'running') return state;
    if (state === 'degraded') {
      const failed = await tryRun('nsenter', [
        '-t',
        String(pid),
        '-a',
        'systemctl',
        '--failed',
        '--no-pager',
        '--plain',
      ]);
      say(`node ${node} is degraded:\n${failed.stdout.trim()}`);
      return state;
    }
    // "offline" also means "the manager's socket is not up yet" early in a boot: keep waiting for it.
    if (['maintenance', 'stopping'].includes(state)) break;
    await sleep(300);
  }
  const failed = await tryRun('nsenter', ['-t', String(pid), '-a', 'systemctl', '--failed', '--no-pager', '--plain']);
  throw new LabError(
    `node ${node}: systemd not running after ${Math.round(timeoutMs / 1000)} s (state: ${state}); systemctl --failed:\n${failed.stdout.trim() || failed.stderr.trim()}`,
  );
}

/** Why: clean poweroff lets PostgreSQL stop properly; escalate to signals so down never hangs. */
export async function stopNode(node: NodeName, nspawnPid: number): Promise<void> {
  if (!isAlive(nspawnPid)) return;
  const pid = containerInitOf(nspawnPid);
  if (pid !== null) {
    say(`powering off node ${node}`);
    await tryRun('nsenter', ['-t', String(pid), '-a', 'systemctl', 'poweroff', '--no-block'], { timeoutMs: 10_000 });
    if (await waitExit(nspawnPid, 45_000)) return;
  }
  say(`node ${node}: poweroff timed out; sending SIGTERM to systemd-nspawn`);
  signal(nspawnPid, 'SIGTERM');
  if (await waitExit(nspawnPid, 15_000)) return;
  say(`node ${node}: still running; killing it`);
  const init = containerInitOf(nspawnPid);
  if (init !== null) signal(init, 'SIGKILL'); // kills the whole container pid namespace
  signal(nspawnPid, 'SIGKILL');
  if (!(await waitExit(nspawnPid, 10_000)))
    throw new LabError(`node ${node}: systemd-nspawn ${nspawnPid} would not exit`);
}

/** Why: labDown and status ask whether a node's overlay is still mounted. */
export function nodeMounted(node: NodeName): boolean {
  return mountsUnder(nodePaths(node).dir).length > 0;
}
