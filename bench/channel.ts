// `npm run bench` (part 2): pairs lab nodes a and b, then times handshakes and RPC round trips a -> b.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { installDriver } from '../test/lab/driver.js';
import { LAB, labDown, labUp, nodeExec } from '../test/lab/index.js';
import { debPath } from '../test/lab/paths.js';

execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'inherit' });
await labUp({ deb: debPath() });
try {
  const accept = await nodeExec('b', ['pgduplex', 'pair', '--accept', LAB.nodes.a.ipv4, '--no-wait', '--json']);
  const { token } = JSON.parse(accept.stdout) as { token: string };
  await nodeExec('a', ['pgduplex', 'pair', LAB.nodes.b.ipv4, '-'], { input: token });
  await installDriver('a', new URL('./inside/peer-rpc.ts', import.meta.url), '/var/tmp/peer-rpc.mjs');
  const r = await nodeExec('a', ['node', '/var/tmp/peer-rpc.mjs', '20', '1000'], { timeoutMs: 300_000 });
  const figures = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  const results = {
    measuredAt: new Date().toISOString(),
    where: 'lab node a -> lab node b over the lab bridge, agents from the .deb under systemd',
    ...figures,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/channel.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
} finally {
  await labDown();
}
