// One flood run on the lab pair, shared by the lab test (which asserts) and `npm run bench` (which
// judges the figures): paired RPCs a -> b measured while the outsider floods b's agent port.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agentOk } from '../../lab/agent-rpc.js';
import { installDriver } from '../../lab/driver.js';
import { waitFor } from '../../lab/http.js';
import { LAB, nodeExec, outsiderExec } from '../../lab/index.js';
import type { FloodPlan, FloodReport } from './outsider-flood.js';
import type { RpcLoopReport } from './peer-rpc-loop.js';

/** Issue 7's flood: 500 requests a second for 30 s at b's agent port, 1,000 of them websocket handshakes. */
export const FLOOD = { ratePerSecond: 500, seconds: 30, handshakes: 1000 } as const;
/** The figure the benchmark judges: paired RPC p99 under the flood. */
export const P99_TARGET_MS = 100;
/** Where the paired-RPC loop is installed on node a. */
export const RPC_LOOP = '/var/tmp/pgdx-peer-rpc-loop.mjs';
const PURPOSE = 'flood-test';

/** Everything one run measured on agent b and at the caller on a. */
export interface FloodFigures {
  rpcBaseline: RpcLoopReport;
  rpcUnderFlood: RpcLoopReport;
  flood: FloodReport;
  agent: { pidBefore: string; pidAfter: string; restartsBefore: string; restartsAfter: string };
  rssMb: { before: number; peakSampled: number; highWaterMark: number; after: number; samples: number };
  fds: { before: number; peakSampled: number; afterSettling: number; settledInMs: number };
}

/** Opens b's agent port for the outsider through b's own journaled firewall action; returns the journal id. */
export async function openAgentPortToOutsider(): Promise<string> {
  const r = await agentOk<{ journalId?: string }>('b', 'firewall.apply', {
    peer: LAB.outsider.ipv4,
    ports: [{ port: 7740, purpose: PURPOSE }],
  });
  if (r.journalId === undefined)
    throw new Error('the flood-test rule was already there: an earlier run did not clean up');
  return r.journalId;
}

/** Removes what openAgentPortToOutsider added. */
export async function closeAgentPortToOutsider(journalId: string): Promise<void> {
  await agentOk('b', 'journal.undo', { id: journalId });
}

const agentPid = async () =>
  (await nodeExec('b', ['systemctl', 'show', '-p', 'MainPID', '--value', 'pgduplex-agent'])).stdout.trim();
const restarts = async () =>
  (await nodeExec('b', ['systemctl', 'show', '-p', 'NRestarts', '--value', 'pgduplex-agent'])).stdout.trim();
const fdCount = async (pid: string) =>
  Number((await nodeExec('b', ['bash', '-c', `ls /proc/${pid}/fd | wc -l`])).stdout.trim());
const statusKb = async (pid: string, field: 'VmRSS' | 'VmHWM') =>
  Number(
    new RegExp(`${field}:\\s+(\\d+)`).exec((await nodeExec('b', ['cat', `/proc/${pid}/status`])).stdout)?.[1] ?? NaN,
  );
const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T;
const rpcLoop = async (seconds: number): Promise<RpcLoopReport> =>
  lastJson<RpcLoopReport>(
    (await nodeExec('a', ['node', RPC_LOOP, String(seconds), '20'], { timeoutMs: (seconds + 120) * 1000 })).stdout,
  );

/** Runs a baseline, then the flood with paired RPCs and samplers, then waits for b's descriptors to settle. */
export async function runFlood(opts: { baselineSeconds: number; settleMs: number }): Promise<FloodFigures> {
  await installDriver('a', new URL('./peer-rpc-loop.ts', import.meta.url), RPC_LOOP);
  const serverKey = (
    JSON.parse((await nodeExec('a', ['cat', '/var/lib/pgduplex/peers.json'])).stdout) as {
      peers: Array<{ publicKey: string }>;
    }
  ).peers[0]!.publicKey;
  await agentOk('a', 'peer.call', { action: 'ping', params: {} });
  const pid = await agentPid();
  const restartsBefore = await restarts();
  const rpcBaseline = await rpcLoop(opts.baselineSeconds);
  const fdsBefore = await fdCount(pid);
  const rssBefore = await statusKb(pid, 'VmRSS');

  let sampling = true;
  const samples = { rss: [rssBefore], fds: [fdsBefore] };
  const sampler = (async () => {
    while (sampling) {
      samples.rss.push(await statusKb(pid, 'VmRSS'));
      samples.fds.push(await fdCount(pid));
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const plan: FloodPlan = { address: LAB.nodes.b.ipv4, port: 7740, serverKey, ...FLOOD };
  const driver = fileURLToPath(new URL('./outsider-flood.ts', import.meta.url));
  const [rpcUnderFlood, flood] = await Promise.all([
    rpcLoop(FLOOD.seconds + 4),
    new Promise((r) => setTimeout(r, 2000)).then(async () =>
      lastJson<FloodReport>(
        (
          await outsiderExec([process.execPath, '--import', 'tsx', driver, JSON.stringify(plan)], {
            timeoutMs: 300_000,
          })
        ).stdout,
      ),
    ),
  ]);
  sampling = false;
  await sampler;

  const settleStart = Date.now();
  const fdsAfter = await waitFor(
    'agent b file descriptors back to their count before the flood',
    () => fdCount(pid),
    (n) => n <= fdsBefore,
    opts.settleMs,
  ).catch(() => fdCount(pid));
  return {
    rpcBaseline,
    rpcUnderFlood,
    flood,
    agent: { pidBefore: pid, pidAfter: await agentPid(), restartsBefore, restartsAfter: await restarts() },
    rssMb: {
      before: mb(rssBefore),
      peakSampled: mb(Math.max(...samples.rss)),
      highWaterMark: mb(await statusKb(pid, 'VmHWM')),
      after: mb(await statusKb(pid, 'VmRSS')),
      samples: samples.rss.length,
    },
    fds: {
      before: fdsBefore,
      peakSampled: Math.max(...samples.fds),
      afterSettling: fdsAfter,
      settledInMs: Date.now() - settleStart,
    },
  };
}

/** Writes bench/results/flood.json: the figures, and the p99 under flood against its target. */
export function writeFloodResults(f: FloodFigures, measuredBy: string): Record<string, unknown> {
  const results = {
    measuredAt: new Date().toISOString(),
    measuredBy,
    where:
      'lab: outsider x floods agent b (port opened to x for the run); paired peer.call ping from node a through its agent to b, 20/s',
    flood: { ...FLOOD, ...f.flood },
    rpc: {
      baseline: f.rpcBaseline,
      underFlood: f.rpcUnderFlood,
      targetP99Ms: P99_TARGET_MS,
      meetsTarget: f.rpcUnderFlood.ms.p99 <= P99_TARGET_MS,
    },
    agentB: { ...f.agent, rssMb: f.rssMb, fds: f.fds },
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/flood.json', `${JSON.stringify(results, null, 2)}\n`);
  return results;
}
