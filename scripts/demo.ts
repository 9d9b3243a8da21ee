// The demo's lab part: two Debian 13 nodes, the .deb installed by dpkg, each agent's health shown.
import { LAB, NODE_NAMES, labDown, labUp, nodeExec } from '../test/lab/index.js';
import { buildFixture } from '../test/lab/fixture/build.js';
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
  const whoA = JSON.parse((await nodeExec('a', ['pgduplex', 'whoami', '--json'])).stdout) as { fingerprint: string };
  step(
    `pairing: "pgduplex pair --accept ${LAB.nodes.a.ipv4} --fingerprint ${whoA.fingerprint}" on b (a's fingerprint from "pgduplex whoami" there), then "pgduplex pair ${LAB.nodes.b.ipv4} -" on a`,
  );
  const accept = await nodeExec('b', [
    'pgduplex',
    'pair',
    '--accept',
    LAB.nodes.a.ipv4,
    '--fingerprint',
    whoA.fingerprint,
    '--no-wait',
  ]);
  process.stdout.write(accept.stdout);
  const token = /PGDX1-[A-Z2-7-]+/.exec(accept.stdout)?.[0] ?? '';
  const paired = await nodeExec('a', ['pgduplex', 'pair', LAB.nodes.b.ipv4, '-'], { input: token });
  process.stdout.write(paired.stdout);
  for (const node of NODE_NAMES) {
    step(`node ${node}: pgduplex peers`);
    process.stdout.write((await nodeExec(node, ['pgduplex', 'peers'], { reject: false })).stdout);
  }
  const psql = (node: 'a' | 'b', sql: string) =>
    nodeExec(
      node,
      ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', 'fusionpbx', '-f', '-'],
      { input: sql },
    );
  step(
    'node a: the real FS PBX schema (189 tables, uuid-ossp defaults) with 24 MB of tenants and call records, plus a bigserial jobs table',
  );
  const fixture = await buildFixture('a', '24MB', { noKeyTable: false });
  process.stdout.write(`${fixture.plan.domains} tenants, ${fixture.plan.cdrs} call records in ${fixture.seconds} s\n`);
  step('node a: pgduplex setup --yes (a is the source; b is bootstrapped from it)');
  const setup = await nodeExec('a', ['pgduplex', 'setup', '--yes'], { reject: false, timeoutMs: 900_000 });
  process.stdout.write(setup.stdout + setup.stderr);
  if (setup.exitCode !== 0) throw new Error(`pgduplex setup failed (exit ${setup.exitCode})`);
  step('proving both directions: a row written on a, another on b');
  // The job first: changes arrive in commit order, so once the domain is there the job is too.
  const write = (node: 'a' | 'b') =>
    psql(
      node,
      `insert into jobs (queue, payload, attempts, available_at, created_at) values ('demo-${node}', '{}', 0, 0, 0);
    insert into v_domains (domain_uuid, domain_name, domain_enabled) values (md5('written-on-${node}')::uuid, 'written-on-${node}.example', true);`,
    );
  await write('a');
  await write('b');
  for (const node of NODE_NAMES) {
    let rows = '';
    for (let i = 0; i < 60 && !rows.includes('written-on-a'); i++) {
      rows = (
        await psql(
          node,
          `select string_agg(domain_name, ' ' order by domain_name) from v_domains where domain_name like 'written-on-%'`,
        )
      ).stdout.trim();
      if (rows.split(' ').length < 2) {
        rows = '';
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const jobs = (
      await psql(node, `select string_agg(id || '=' || queue, ' ' order by id) from jobs where queue like 'demo-%'`)
    ).stdout.trim();
    process.stdout.write(`on ${node}: ${rows || '(rows missing!)'}; jobs ids: ${jobs} (a writes odd ids, b even)\n`);
    if (!rows.includes('written-on-a') || !rows.includes('written-on-b'))
      throw new Error(`the writes did not reach node ${node}`);
  }
  for (const node of NODE_NAMES) {
    step(`node ${node}: pgduplex status`);
    process.stdout.write(`${(await nodeExec(node, ['pgduplex', 'status'], { reject: false })).stdout}\n`);
  }
  step('node a: pgduplex setup again: nothing to change');
  process.stdout.write(
    (await nodeExec('a', ['pgduplex', 'setup', '--yes'], { reject: false, timeoutMs: 600_000 })).stdout
      .split('\n')
      .slice(-2)
      .join('\n'),
  );
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
