import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { nodeHttp, outsiderHttp, waitFor } from '../lab/http.js';
import { LAB, nodeExec, outsiderExec } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import {
  closeAgentPortToOutsider,
  FLOOD,
  openAgentPortToOutsider,
  RPC_LOOP,
  runFlood,
  writeFloodResults,
  type FloodFigures,
} from './flood/scenario.js';

// Issue 7, part 3: the outsider floods agent b (its port opened to the outsider for this file only)
// while node a keeps calling b over the paired session. Functional checks here; the p99 figure goes
// to bench/results/flood.json and `npm run bench` judges it.
const B = `http://${LAB.nodes.b.ipv4}:7740/health/live`;
const RSS_CAP_MB = 256;
let journalId: string | undefined;
let f: FloodFigures;

type PeerCounts = { refused: number; busy: number; handshakes: number };
/** b's own count of peer upgrades, read from /metrics on its local socket (what TCP shows may change). */
async function peerCounts(): Promise<PeerCounts> {
  const r = await nodeHttp('b', 'http://localhost/metrics', ['--unix-socket', '/run/pgduplex/agent.sock']);
  const n = (outcome: string) =>
    Number(new RegExp(`^pgduplex_peer_connections_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(r.body)?.[1]);
  return { refused: n('refused'), busy: n('busy'), handshakes: n('handshakes') };
}
const refusalLines = async () =>
  (await nodeExec('b', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat'])).stdout
    .split('\n')
    .filter((l) => l.includes('peer connection') && l.includes('before the handshake')).length;
let before: { counts: PeerCounts; lines: number };

beforeAll(async () => {
  await pairLabNodes();
}, 120_000);

afterAll(async () => {
  if (journalId !== undefined) await closeAgentPortToOutsider(journalId);
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
  await nodeExec('a', ['rm', '-f', RPC_LOOP]);
}, 120_000);

describe('agent b under a flood from the outsider while a and b are paired', () => {
  it('reaches b from the outsider only once the test opens the port', async () => {
    expect((await outsiderHttp(B, 2)).curlExit).toBe(28);
    journalId = await openAgentPortToOutsider();
    expect((await outsiderHttp(B, 5)).status).toBe(200);
  });

  // Issue 14, item 6: a stranger's handshake cost b an Ed25519 signature and a verify before its address was checked.
  it('refuses the outsider at the upgrade, naming why, before any websocket or crypto', async () => {
    const start = await peerCounts();
    expect(start.handshakes).toBeGreaterThanOrEqual(0);
    const upgrade = [
      'curl',
      '-sS',
      '-m',
      '5',
      '-o',
      '/dev/null',
      '-D',
      '-',
      '-H',
      'Connection: Upgrade',
      '-H',
      'Upgrade: websocket',
      '-H',
      'Sec-WebSocket-Version: 13',
      '-H',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      `http://${LAB.nodes.b.ipv4}:7740/v1/peer`,
    ];
    const r = await outsiderExec(upgrade, { reject: false });
    expect(r.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(r.stdout.toLowerCase()).toContain('x-pgduplex-refused: peer_not_trusted');
    expect(await peerCounts()).toEqual({ ...start, refused: start.refused + 1 });
  });

  it('answers every paired RPC during the flood and survives it', async () => {
    before = { counts: await peerCounts(), lines: await refusalLines() };
    f = await runFlood({ baselineSeconds: 10, settleMs: 90_000 });
    writeFloodResults(f, 'test/agent/flood.lab.test.ts');
    expect(f.rpcBaseline.failures).toEqual({});
    expect(f.rpcUnderFlood.failures).toEqual({});
    expect(f.rpcUnderFlood.ok).toBeGreaterThanOrEqual(FLOOD.seconds * 5);
    expect(f.agent.pidAfter).toBe(f.agent.pidBefore);
    expect(f.agent.restartsAfter).toBe(f.agent.restartsBefore);
    expect((await nodeHttp('b', 'http://127.0.0.1:7740/health/live')).status).toBe(200);
  }, 600_000);

  it('actually flooded b: thousands of requests answered, every handshake attempt made', () => {
    // Lenient on purpose: on a shared 2-core machine the load generator itself may fall behind.
    expect(f.flood.health['200'] ?? 0).toBeGreaterThanOrEqual((FLOOD.ratePerSecond * FLOOD.seconds) / 3);
    expect(Object.values(f.flood.handshakes).reduce((a, b) => a + b, 0)).toBe(FLOOD.handshakes);
  });

  it('refuses every unauthenticated handshake: no stranger, garbage or silent client gets a session or an answer', () => {
    const outcomes = Object.keys(f.flood.handshakes);
    expect(outcomes.filter((o) => o === 'accepted' || o.endsWith(':answered'))).toEqual([]);
    expect(f.flood.handshakes['refused:PEER_NOT_TRUSTED'] ?? 0).toBeGreaterThan(0);
    for (const o of outcomes)
      expect(o).toMatch(
        /^(refused:[A-Z_]+|busy|unreachable|(garbage|silent):(busy|closed:\d+(:reason)?|dropped|http:\d+))$/,
      );
  });

  it('spent no handshake on the outsider: every one it sent was refused at the upgrade, none reached the websocket', async () => {
    const after = await peerCounts();
    const sum = (re: RegExp) =>
      Object.entries(f.flood.handshakes).reduce((n, [o, count]) => (re.test(o) ? n + count : n), 0);
    // Strangers, garbage and silent clients alike are refused by address: none got a websocket (no close
    // code from b, no 503 for a full queue); an attempt that never reached b (1006, dropped) is not counted.
    const raw = Object.keys(f.flood.handshakes).filter((o) => /^(garbage|silent):/.test(o));
    expect(raw.filter((o) => !/:(http:403|dropped|closed:1006)$/.test(o))).toEqual([]);
    expect(sum(/:http:403$/)).toBeGreaterThan(0);
    expect(after.refused - before.counts.refused).toBe(sum(/^refused:|:http:403$/));
    expect(after.busy).toBe(before.counts.busy);
    // The only handshakes b ran meanwhile are a's (the paired session, redialled if it dropped), never one per stranger.
    expect(after.handshakes - before.counts.handshakes).toBeLessThanOrEqual(2);
  });

  it('logs the refusals as a few lines, not one per connection', async () => {
    // The flood's refusals may be held for the summary line, which comes at most a minute later.
    const lines = await waitFor(
      'a refusal line or summary',
      async () => (await refusalLines()) - before.lines,
      (n) => n >= 1,
      75_000,
    );
    expect(lines).toBeLessThanOrEqual(3);
  }, 90_000);

  it('keeps its memory bounded and gives back every file descriptor once the flood is over', () => {
    expect(f.rssMb.peakSampled).toBeLessThan(RSS_CAP_MB);
    expect(f.rssMb.highWaterMark).toBeLessThan(RSS_CAP_MB);
    expect(f.fds.peakSampled).toBeGreaterThan(f.fds.before);
    expect(f.fds.afterSettling).toBeLessThanOrEqual(f.fds.before);
  });

  it('closes the port to the outsider again', async () => {
    await closeAgentPortToOutsider(journalId!);
    journalId = undefined;
    await waitFor(
      'the outsider locked out again',
      () => outsiderHttp(B, 2),
      (r) => r.curlExit === 28,
    );
    expect(
      (await agentOk<Array<{ undone: boolean; action: string; changes: string[] }>>('b', 'journal.list')).filter(
        (e) => !e.undone && e.changes.some((c) => c.includes('flood-test')),
      ),
    ).toEqual([]);
  });
});
