// The demo's lab part: two Debian 13 nodes, the .deb installed by dpkg, each agent's health shown.
import { LAB, NODE_NAMES, labDown, labUp, nodeExec } from '../test/lab/index.js';
import { debPath } from '../test/lab/paths.js';

const keep = process.env.PGDX_LAB_KEEP === '1';
const step = (s: string) => process.stdout.write(`\n==> ${s}\n`);

try {
  step('bringing up lab nodes a and b (Debian 13, systemd, PostgreSQL 17) and installing the .deb');
  await labUp({ deb: debPath() });
  for (const node of NODE_NAMES) {
    step(`node ${node} (${LAB.nodes[node].ipv4}): systemctl is-active pgduplex-agent; pgduplex health`);
    const active = await nodeExec(node, ['systemctl', 'is-active', 'pgduplex-agent'], { reject: false });
    process.stdout.write(`pgduplex-agent is ${active.stdout.trim()}\n`);
    const health = await nodeExec(node, ['pgduplex', 'health'], { reject: false });
    process.stdout.write(health.stdout + health.stderr);
  }
  step(`pairing: "pgduplex pair --accept ${LAB.nodes.a.ipv4}" on b, then "pgduplex pair ${LAB.nodes.b.ipv4} -" on a`);
  const accept = await nodeExec('b', ['pgduplex', 'pair', '--accept', LAB.nodes.a.ipv4, '--no-wait']);
  process.stdout.write(accept.stdout);
  const token = /PGDX1-[A-Z2-7-]+/.exec(accept.stdout)?.[0] ?? '';
  const paired = await nodeExec('a', ['pgduplex', 'pair', LAB.nodes.b.ipv4, '-'], { input: token });
  process.stdout.write(paired.stdout);
  for (const node of NODE_NAMES) {
    step(`node ${node}: pgduplex peers`);
    process.stdout.write((await nodeExec(node, ['pgduplex', 'peers'], { reject: false })).stdout);
  }
  step('not yet: "pgduplex setup" (replication both ways), "status", "verify" and "teardown" are the next issues');
  step('done');
  process.stdout.write(
    keep
      ? 'the lab is still running: "npm run lab -- shell a" to look around, "npm run lab -- down" to remove it\n'
      : 'tearing the lab down (PGDX_LAB_KEEP=1 npm run demo keeps it running)\n',
  );
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  if (!keep) await labDown();
}
