// `npm run bench` (flood): paired RPC p99 from a to b while the outsider floods b's agent port,
// judged against the 100 ms target; the same run as test/agent/flood.lab.test.ts, without its asserts.
import { execFileSync } from 'node:child_process';
import {
  closeAgentPortToOutsider,
  openAgentPortToOutsider,
  P99_TARGET_MS,
  runFlood,
  writeFloodResults,
} from '../test/agent/flood/scenario.js';
import { labDown, labUp, nodeExec } from '../test/lab/index.js';
import { pairLabNodes } from '../test/lab/pair.js';
import { debPath } from '../test/lab/paths.js';

execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'inherit' });
await labUp({ deb: debPath() });
try {
  await pairLabNodes();
  const journalId = await openAgentPortToOutsider();
  try {
    const f = await runFlood({ baselineSeconds: 10, settleMs: 90_000 });
    console.log(JSON.stringify(writeFloodResults(f, 'bench/flood.ts'), null, 2));
    const p99 = f.rpcUnderFlood.ms.p99;
    console.log(
      `paired RPC p99 under flood: ${p99} ms (without: ${f.rpcBaseline.ms.p99} ms) against a target of ${P99_TARGET_MS} ms: ${p99 <= P99_TARGET_MS ? 'met' : 'MISSED'}`,
    );
  } finally {
    await closeAgentPortToOutsider(journalId);
    await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
  }
} finally {
  await labDown();
}
