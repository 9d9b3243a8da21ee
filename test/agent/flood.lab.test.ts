import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { nodeHttp, outsiderHttp, waitFor } from '../lab/http.js';
import { LAB, nodeExec } from '../lab/index.js';
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

  it('answers every paired RPC during the flood and survives it', async () => {
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
