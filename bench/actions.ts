// `npm run bench` (part 4): time of each action's check and apply on lab node a (restart excluded),
// and backup throughput against plain `pg_dump -Fc` of the same database on the same node.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { agentOk } from '../test/lab/agent-rpc.js';
import { LAB, labDown, labUp, nodeExec } from '../test/lab/index.js';
import { debPath } from '../test/lab/paths.js';

const ROWS = Number(process.env.PGDX_BENCH_ROWS ?? 400_000);
const sql = (text: string) =>
  nodeExec(
    'a',
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', 'fusionpbx', '-f', '-'],
    { input: text, timeoutMs: 600_000 },
  );
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, Math.round((performance.now() - t) * 10) / 10];
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'inherit' });
await labUp({ deb: debPath() });
try {
  console.log(`seeding ${ROWS} CDR-like rows on node a…`);
  await sql(`create extension if not exists pgcrypto;
    create table bench_cdr (xml_cdr_uuid uuid primary key default gen_random_uuid(), domain_name text, caller text, json jsonb, start_stamp timestamptz default now());
    insert into bench_cdr (domain_name, caller, json) select 'tenant' || (g % 50), '+1555' || g, jsonb_build_object('g', g, 'pad', repeat(md5(g::text), 4)) from generate_series(1, ${ROWS}) g;
    analyze;`);
  const dbBytes = Number((await sql(`select pg_database_size('fusionpbx')`)).stdout.trim());

  const fw = { peer: LAB.nodes.b.ipv4, ports: [{ port: 5432, purpose: 'postgresql' }] };
  const [, factsMs] = await timed(() => agentOk('a', 'facts'));
  const [, fwCheckMs] = await timed(() => agentOk('a', 'firewall.check', fw));
  const [fwApplied, fwApplyMs] = await timed(() => agentOk<{ journalId: string }>('a', 'firewall.apply', fw));
  const [, fwUndoMs] = await timed(() => agentOk('a', 'journal.undo', { id: fwApplied.journalId }));
  const [, backupCheckMs] = await timed(() => agentOk('a', 'backup.check', { database: 'fusionpbx' }));
  const more: Record<string, number> = {};
  const pairOf = async (name: string, params: unknown) => {
    [, more[`${name}.check`]] = await timed(() => agentOk('a', `${name}.check`, params));
    const [applied, ms] = await timed(() => agentOk<{ journalId?: string }>('a', `${name}.apply`, params));
    more[`${name}.apply`] = ms;
    if (applied.journalId) await agentOk('a', 'journal.undo', { id: applied.journalId });
  };
  await pairOf('pg-settings', { settings: { max_slot_wal_keep_size: '10GB' } });
  await pairOf('pg-hba', { peer: LAB.nodes.b.ipv4, role: 'pgdx_bench', database: 'fusionpbx' });
  await pairOf('pg-role', { role: 'pgdx_bench', password: 'bench-password-0123456789' });
  await pairOf('publication', { database: 'fusionpbx', name: 'pgdx_bench_pub', tables: { all: true } });
  await pairOf('sequences', { database: 'fusionpbx', step: 2, slot: 1 });

  const agentRuns: number[] = [];
  const plainRuns: number[] = [];
  let dumpBytes = 0;
  for (let i = 0; i < 3; i++) {
    const [, plainMs] = await timed(() =>
      nodeExec(
        'a',
        [
          'runuser',
          '-u',
          'postgres',
          '--',
          'pg_dump',
          '-Fc',
          '-d',
          'fusionpbx',
          '-f',
          '/var/lib/postgresql/plain.dump',
        ],
        { timeoutMs: 600_000 },
      ),
    );
    plainRuns.push(plainMs);
    dumpBytes = Number((await nodeExec('a', ['stat', '-c', '%s', '/var/lib/postgresql/plain.dump'])).stdout.trim());
    await nodeExec('a', ['rm', '-f', '/var/lib/postgresql/plain.dump']);
    const [, agentMs] = await timed(() => agentOk('a', 'backup.apply', { database: 'fusionpbx' }));
    agentRuns.push(agentMs);
    await nodeExec('a', ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
    await new Promise((r) => setTimeout(r, 1100));
  }
  const mbps = (ms: number) => Math.round((dbBytes / 1048576 / (ms / 1000)) * 10) / 10;
  const results = {
    measuredAt: new Date().toISOString(),
    where:
      'lab node a, agent from the .deb under systemd, called through its socket (curl), so each figure includes one nsenter+curl round trip',
    actionMs: {
      facts: factsMs,
      'firewall.check': fwCheckMs,
      'firewall.apply': fwApplyMs,
      'journal.undo(firewall)': fwUndoMs,
      'backup.check': backupCheckMs,
      ...more,
    },
    backup: {
      databaseBytes: dbBytes,
      dumpBytes,
      agentMs: agentRuns,
      plainPgDumpMs: plainRuns,
      agentMiBps: mbps(median(agentRuns)),
      plainMiBps: mbps(median(plainRuns)),
      ratio: Math.round((median(plainRuns) / median(agentRuns)) * 100) / 100,
      target: 0.9,
    },
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/actions.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
} finally {
  await labDown();
}
