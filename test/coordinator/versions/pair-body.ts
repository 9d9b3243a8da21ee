// The one test body every PostgreSQL version pair runs: setup, writes both ways, status, /metrics, verify,
// a re-run that changes nothing, teardown. Each step is plain code; describe-pair.ts makes them vitest tests.
import { execa } from 'execa';
import { expect } from 'vitest';
import { nodeSocketHttp, waitFor } from '../../lab/http.js';
import { nodeExec, type NodeName, type PgMajor } from '../../lab/index.js';
import { labSql, pgStartedAt } from '../../lab/node-snapshot.js';
import { pairLabNodes } from '../../lab/pair.js';
import { onBoth, pgduplex } from '../../lab/setup-pair.js';

/** A lab pair of PostgreSQL majors, and the node `pgduplex setup` (and teardown) runs on. */
export interface VersionPair {
  a: PgMajor;
  b: PgMajor;
  from: NodeName;
}

/** One step of the body; they run in order, each needing the ones before it. */
export interface PairStep {
  name: string;
  run: () => Promise<void>;
}

/** Why: test names and results name a pair the same way. */
export const pairLabel = (p: VersionPair): string => `${p.a}↔${p.b} (setup from ${p.from})`;

const FIXTURE = `create table vp_domains (domain_uuid uuid primary key default uuid_generate_v4(), domain_name text not null unique);
create table vp_jobs (id bigserial primary key, queue text not null, payload jsonb);
insert into vp_domains (domain_name) select 'tenant' || g || '.example' from generate_series(1, 20) g;
insert into vp_jobs (queue, payload) select 'default', jsonb_build_object('n', g) from generate_series(1, 40) g;`;

/** listen_addresses, pg_hba's methods (md5 for scram-sha-256), fusionpbx a superuser, uuid-ossp in fusionpbx. */
const INSTALLER_STATE = `select current_setting('listen_addresses')
  || '|' || (select string_agg(distinct auth_method, ',' order by auth_method) from pg_hba_file_rules)
  || '|' || (select rolsuper from pg_roles where rolname = 'fusionpbx')
  || '|' || (select count(*) from pg_extension where extname = 'uuid-ossp')`;

const other = (n: NodeName): NodeName => (n === 'a' ? 'b' : 'a');
const out = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

/** What each node runs, for the results: PostgreSQL's own version string and Node.js's (the agent's runtime). */
export const nodeVersions = (): Promise<[NodeVersions, NodeVersions]> =>
  onBoth(async (n) => ({
    server: await labSql(n, 'show server_version'),
    node: (await nodeExec(n, ['node', '--version'])).stdout.trim(),
  }));

/** PostgreSQL's version string ("18.6 (Debian 18.6-3)") and Node.js's ("v24.22.2") on one node. */
export interface NodeVersions {
  server: string;
  node: string;
}

/** Why: every pair runs exactly these steps, so a failure on one pair and a pass on another compare. */
export function pairSteps(p: VersionPair): PairStep[] {
  const from = p.from;
  return [
    {
      name: "each node runs the PostgreSQL major asked for, as FS PBX's installer leaves it",
      run: async () => {
        const nums = await onBoth((n) => labSql(n, 'show server_version_num'));
        expect(nums.map((v) => Math.floor(Number(v) / 10000))).toEqual([p.a, p.b]);
        expect(await onBoth((n) => labSql(n, INSTALLER_STATE))).toEqual(Array(2).fill('localhost|md5,peer|true|1'));
      },
    },
    {
      name: `pgduplex setup from ${from} sets up both directions and both databases agree`,
      run: async () => {
        await pairLabNodes();
        await labSql(from, FIXTURE);
        const r = await pgduplex(from, 'setup');
        expect(r.exitCode, out(r)).toBe(0);
        expect(r.stdout).toMatch(/^both databases agree; took [\d.]+ s$/m);
        // Binary transfer only between equal majors; parallel streaming and origin none always.
        const subs = await onBoth((n) =>
          labSql(n, "select subbinary::text || ':' || substream::text || ':' || suborigin from pg_subscription"),
        );
        expect(subs).toEqual(Array(2).fill(`${p.a === p.b}:p:none`));
      },
    },
    {
      name: 'writes on a arrive on b and writes on b on a (bigserial written on both, no collision)',
      run: async () => {
        for (const n of ['a', 'b'] as const)
          await labSql(
            n,
            `insert into vp_domains (domain_name) values ('from-${n}.example');
            insert into vp_jobs (queue) select '${n}' from generate_series(1, 25);`,
          );
        for (const n of ['a', 'b'] as const) {
          const q =
            "select (select count(*) from vp_domains where domain_name like 'from-%') || '/' || (select count(*) from vp_jobs)";
          await waitFor(
            `both nodes' rows on ${n}`,
            () => labSql(n, q),
            (x) => x === '2/90',
            60_000,
          );
        }
      },
    },
    {
      name: 'pgduplex status calls the pair healthy (exit 0) on a and on b',
      run: async () => {
        for (const n of ['a', 'b'] as const) {
          const r = await waitFor(
            `status on ${n} exits 0`,
            () => pgduplex(n, 'status'),
            (x) => x.exitCode === 0,
            90_000,
          );
          expect(r.stdout).toContain(`pgduplex status on ${n} (database fusionpbx): healthy`);
          expect(r.stdout).toMatch(/a → b {2}healthy/);
          expect(r.stdout).toMatch(/b → a {2}healthy/);
        }
      },
    },
    {
      name: "each agent's /metrics passes promtool check metrics",
      run: async () => {
        for (const n of ['a', 'b'] as const) {
          const m = await nodeSocketHttp(n, '/metrics');
          expect(m.status, m.body).toBe(200);
          const check = await execa('promtool', ['check', 'metrics'], { input: m.body, reject: false });
          expect(check.exitCode, `${n}: ${check.stdout}${check.stderr}`).toBe(0);
          expect(m.body).toMatch(new RegExp(`^pgduplex_agent_info\\{version="[^"]+",node="${n}"\\} 1$`, 'm'));
        }
      },
    },
    {
      name: `pgduplex verify (on ${other(from)}) finds both databases identical`,
      run: async () => {
        const r = await pgduplex(other(from), 'verify');
        expect(r.exitCode, out(r)).toBe(0);
        expect(r.stdout).toMatch(/verify: 2 tables identical/);
      },
    },
    {
      name: 'a second setup changes nothing and restarts nothing',
      run: async () => {
        const started = await onBoth(pgStartedAt);
        const r = await pgduplex(from, 'setup');
        expect(r.exitCode, out(r)).toBe(0);
        expect(r.stdout).not.toMatch(/^changed/m);
        expect(r.stdout).toContain('nothing to change');
        expect(await onBoth(pgStartedAt)).toEqual(started);
      },
    },
    {
      name: `pgduplex teardown (from ${from}) removes the replication on both nodes and keeps the rows`,
      run: async () => {
        const r = await pgduplex(from, 'teardown', '--yes');
        expect(r.exitCode, out(r)).toBe(0);
        expect(r.stdout).toMatch(/teardown complete: \d+ changes reverted/);
        const left = "select count(*) from pg_subscription where subname like 'pgduplex%'";
        expect(await onBoth((n) => labSql(n, left))).toEqual(['0', '0']);
        const slots = "select count(*) from pg_replication_slots where slot_name like 'pgduplex%'";
        expect(await onBoth((n) => labSql(n, slots))).toEqual(['0', '0']);
        expect(await onBoth((n) => labSql(n, 'select count(*) from vp_jobs'))).toEqual(['90', '90']);
      },
    },
  ];
}
