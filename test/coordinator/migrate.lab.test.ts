import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../lab/http.js';
import { nodeExec, type NodeName } from '../lab/index.js';
import { agentRpc } from '../lab/agent-rpc.js';
import { pairLabNodes } from '../lab/pair.js';
import { domainWriter } from '../lab/writer.js';
import { onBoth, pgduplex } from '../lab/setup-pair.js';
import { nodeSql as sql } from '../lab/sql.js';
import { pendingJournalCounts, undoEverything } from '../lab/undo-all.js';
import { buildFixture, dropFixture } from '../lab/fixture/build.js';

// `pgduplex migrate` on a pair set up over the real FS PBX schema, both nodes taking writes throughout: a script that
// does what a Laravel migration does (each step its own transaction, as the app's owner), its schema carried to b,
// its rows replicated once, nothing written on either node lost.
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

/** Puts a shell script on node a that runs SQL steps as the app's owner, each step committed on its own. */
async function script(name: string, steps: readonly string[], exit = 0): Promise<string> {
  const path = `/var/tmp/${name}.sh`;
  const body = steps
    .map(
      (s) =>
        `runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d fusionpbx <<'SQL' || exit 3\nset role fusionpbx;\n${s}\nSQL\n`,
    )
    .join('');
  await nodeExec('a', ['bash', '-c', `cat > ${path} && chmod 0755 ${path}`], {
    input: `#!/bin/bash\nset -u\n${body}exit ${exit}\n`,
  });
  return path;
}

const MIGRATION = [
  `alter table v_domains add column pbx_region text default 'eu';
   update v_domains set pbx_region = 'us' where domain_name like 'fixture%' or domain_name like '%1.example';`,
  `create table call_tags (id bigserial primary key, domain_uuid uuid, tag text not null,
     created_at timestamptz default now());
   insert into call_tags (domain_uuid, tag) select md5(i::text)::uuid, 'tag-' || i from generate_series(1, 40) i;`,
  `create table device_cloud_links (link_uuid uuid not null default uuid_generate_v4(), device_uuid uuid not null,
     provider text);
   create unique index device_cloud_links_uuid_unique on device_cloud_links (link_uuid);
   insert into device_cloud_links (device_uuid, provider) select md5(i::text)::uuid, 'p' || i
     from generate_series(1, 25) i;`,
  `alter table v_domains add column domain_token uuid not null default uuid_generate_v4();`,
  `create index v_domains_pbx_region_idx on v_domains (pbx_region);`,
  `update v_domains set domain_description = 'backfilled' where domain_description is null;`,
  `insert into migrations (migration, batch) values ('2026_12_07_000001_pgduplex_lab',
     (select coalesce(max(batch), 0) + 1 from migrations));`,
  `insert into v_default_settings (default_setting_uuid, default_setting_category, default_setting_subcategory,
     default_setting_name, default_setting_value, default_setting_enabled)
   select uuid_generate_v4(), 'pgduplex_seed', 's' || i, 'text', 'v' || i, true from generate_series(1, 5) i;`,
];

let journalsBefore: Record<NodeName, number>;

beforeAll(async () => {
  journalsBefore = await pendingJournalCounts();
  await pairLabNodes();
  await buildFixture('a', '24MB', { noKeyTable: false });
  const r = await pgduplex('a', 'setup', '--yes');
  if (r.exitCode !== 0) throw new Error(`setup failed:\n${log(r)}`);
}, 900_000);

afterAll(async () => {
  const now = await pendingJournalCounts();
  if (now.a !== journalsBefore.a || now.b !== journalsBefore.b) await undoEverything();
  for (const node of ['a', 'b'] as const) {
    await dropFixture(node);
    await nodeExec(node, ['bash', '-c', 'rm -rf /var/backups/pgduplex/*fusionpbx* /var/backups/pgduplex/carry-undo-*']);
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 900_000);

const shape = (node: NodeName) =>
  sql(node, `select count(*) from information_schema.columns where table_schema = 'public'`);

describe('pgduplex migrate on the real FS PBX schema, both nodes taking writes', () => {
  it('--dry-run prints the plan and changes nothing', async () => {
    const path = await script('dry', MIGRATION);
    const before = { journals: await pendingJournalCounts(), shape: await onBoth(shape) };
    const r = await pgduplex('a', 'migrate', '--dry-run', '--', path);
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toContain(`run on a: ${path}`);
    expect(r.stdout).toContain("hold b's subscription pgduplex_from_a");
    expect(r.stdout).toContain('dry run: nothing was changed');
    expect(await pendingJournalCounts()).toEqual(before.journals);
    expect(await onBoth(shape)).toEqual(before.shape);
    expect(await sql('a', `select count(*) from pg_tables where tablename = 'call_tags'`)).toBe('0');
  });

  it('refuses without --yes when there is no terminal, changing nothing', async () => {
    const r = await pgduplex('a', 'migrate', '--', '/bin/true');
    expect(r.exitCode, log(r)).toBe(1);
    expect(r.stderr).toContain('pass --yes');
  });

  it('runs the migration on a and carries it to b: every row once, nothing lost, sequences disjoint', async () => {
    const path = await script('migration', MIGRATION);
    const writers = [domainWriter('a', 'mig', 150), domainWriter('b', 'mig', 150)];
    await sleep(1000);
    const r = await pgduplex('a', 'migrate', '--yes', '--', path);
    await sleep(1000);
    await Promise.all(writers.map((w) => w.stop()));
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toMatch(/schema changes carried; both nodes agree/);
    expect(r.stdout).toContain('columns.touch: v_domains (domain_token)');

    const written = writers.flatMap((w) => w.written);
    expect(written.length).toBeGreaterThan(20);
    const list = written.map((n) => `'${n}'`).join(',');
    for (const node of ['a', 'b'] as const)
      await waitFor(
        `every row written during the migrate on ${node}, once`,
        () => sql(node, `select count(*), count(distinct domain_name) from v_domains where domain_name in (${list})`),
        (v) => v === `${written.length}|${written.length}`,
        60_000,
      );
    const v = await pgduplex('a', 'verify');
    expect(v.exitCode, log(v)).toBe(0);
    const same = async (q: string) => {
      const [x, y] = await onBoth((n) => sql(n, q));
      expect(y, q).toBe(x);
      return x;
    };
    expect(
      await same(`select count(*) || ':' || string_agg(migration, ',' order by migration) from migrations`),
    ).toContain('2026_12_07_000001_pgduplex_lab');
    expect(await same(`select count(*) from v_default_settings where default_setting_category = 'pgduplex_seed'`)).toBe(
      '5',
    );
    expect(await same(`select count(*) from call_tags`)).toBe('40');
    expect(await same(`select count(*) from device_cloud_links`)).toBe('25');
    await same(`select md5(string_agg(domain_uuid || ':' || domain_token, ',' order by domain_uuid)) from v_domains`);
    expect(await same(`select count(*) from v_domains where domain_token is null`)).toBe('0');
    expect(await same(`select relreplident from pg_class where relname = 'device_cloud_links'`)).toBe('i');
    for (const node of ['a', 'b'] as const) {
      expect(
        await sql(
          node,
          `select coalesce(sum(apply_error_count + sync_error_count), 0) from pg_stat_subscription_stats`,
        ),
      ).toBe('0');
      expect(await sql(node, `select count(*) from pg_trigger where tgname = 'pgduplex_hold'`)).toBe('0');
    }
    const steps = await onBoth((n) =>
      sql(n, `select increment_by from pg_sequences where sequencename = 'call_tags_id_seq'`),
    );
    expect(steps).toEqual(['2', '2']);
    // Inserting on both now hands out keys of different residues, and both rows arrive on both.
    for (const node of ['a', 'b'] as const) await sql(node, `insert into call_tags (tag) values ('after-${node}')`);
    for (const node of ['a', 'b'] as const)
      await waitFor(
        `both new call_tags on ${node}`,
        () => sql(node, `select count(distinct id % 2) from call_tags where tag like 'after-%'`),
        (n) => n === '2',
        30_000,
      );
    const s = await pgduplex('a', 'status');
    expect(s.exitCode, log(s)).toBe(0);
  }, 900_000);

  it('a failing command: what it committed is carried, the report names it, the pair stays healthy', async () => {
    const path = await script('failing', [`alter table v_domains add column fail_col integer;`], 1);
    const r = await pgduplex('a', 'migrate', '--yes', '--', path);
    expect(r.exitCode, log(r)).toBe(1);
    expect(r.stdout).toContain('the command FAILED (exit 1)');
    expect(r.stdout).toContain('add column v_domains.fail_col integer');
    for (const node of ['a', 'b'] as const)
      expect(await sql(node, `select count(*) from information_schema.columns where column_name = 'fail_col'`)).toBe(
        '1',
      );
    const s = await pgduplex('a', 'status');
    expect(s.exitCode, log(s)).toBe(0);
  }, 900_000);

  it('a run killed after its command committed is finished by the next run', async () => {
    const path = await script('killed', [`alter table v_domains add column killed_col text default 'k';`]);
    // The command kills the CLI that runs it once its DDL is committed: the hold is in place, nothing carried yet.
    await nodeExec('a', ['bash', '-c', `sed -i "s/^exit 0$/pkill -KILL -f 'pgduplex migrate'; exit 0/" ${path}`]);
    const killed = await pgduplex('a', 'migrate', '--yes', '--', path);
    expect(killed.exitCode, log(killed)).not.toBe(0);
    expect(await sql('b', `select subenabled from pg_subscription where subname = 'pgduplex_from_a'`)).toBe('f');
    const r = await pgduplex('a', 'migrate', '--yes', '--', '/bin/true');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toContain('an earlier migrate was cut short');
    expect(r.stdout).toContain('add column v_domains.killed_col text');
    for (const node of ['a', 'b'] as const)
      expect(await sql(node, `select count(*) from v_domains where killed_col = 'k'`)).toBe(
        await sql('a', 'select count(*) from v_domains'),
      );
    const s = await pgduplex('a', 'status');
    expect(s.exitCode, log(s)).toBe(0);
  }, 900_000);

  it("a carry that would drop what it was lent fails inside its transaction: nothing of the operator's is lost", async () => {
    const owner = () => sql('b', `select relowner::regrole from pg_class where relname = 'v_domains'`);
    const was = await owner();
    const hostile = (script: string) =>
      agentRpc('b', 'schema-carry.apply', {
        database: 'fusionpbx',
        schema: 'public',
        script,
        lend: ['v_domains'],
        creates: {},
        summary: ['add nothing'],
      });
    for (const script of [
      'ALTER TABLE public.v_domains DROP COLUMN domain_description;',
      'COMMIT; ALTER TABLE public.v_domains DROP COLUMN domain_description;',
      'DROP TABLE public.v_domains CASCADE;',
    ]) {
      const r = await hostile(script);
      expect(r.ok, script).toBe(false);
      expect(JSON.stringify(r), script).toContain('may not drop');
      expect(
        await sql(
          'b',
          `select count(*) from information_schema.columns
        where table_name = 'v_domains' and column_name = 'domain_description'`,
        ),
      ).toBe('1');
      expect(await owner()).toBe(was);
    }
    expect(await sql('b', `select count(*) from pg_roles where rolname = 'pgduplex_import'`)).toBe('0');
    expect(await sql('b', `select count(*) from pg_event_trigger where evtname like 'pgduplex%'`)).toBe('0');
  });

  it('drift made by hand: status names it without SKIP, --sync-schema from b repairs it with no row lost', async () => {
    await sql(
      'a',
      `alter table v_domains add column hand_col text;
      create table hand_table (id uuid primary key default uuid_generate_v4(), v text);
      insert into hand_table (v) select 'h' || i from generate_series(1, 30) i;
      insert into v_domains (domain_uuid, domain_name, hand_col) values (md5('drift-a')::uuid, 'drift-a.example', 'x');`,
    );
    await waitFor(
      'b reporting the drift',
      async () => (await pgduplex('b', 'status')).stdout,
      (out) => /schema drift/.test(out),
      60_000,
    );
    const st = await pgduplex('b', 'status');
    expect(st.exitCode, log(st)).toBe(4);
    expect(st.stdout).toContain('pgduplex migrate --sync-schema');
    expect(st.stdout).not.toMatch(/SKIP \(/);
    const dry = await pgduplex('b', 'migrate', '--sync-schema', '--dry-run');
    expect(dry.exitCode, log(dry)).toBe(0);
    expect(dry.stdout).toContain('add column v_domains.hand_col text');
    expect(dry.stdout).toContain('create table hand_table');
    const r = await pgduplex('b', 'migrate', '--sync-schema', '--yes');
    expect(r.exitCode, log(r)).toBe(0);
    await waitFor(
      'the drifted row on b',
      () => sql('b', `select coalesce(hand_col, 'null') from v_domains where domain_name = 'drift-a.example'`),
      (v) => v === 'x',
      60_000,
    );
    expect(await sql('b', 'select count(*) from hand_table')).toBe('30');
    const s = await pgduplex('a', 'status');
    expect(s.exitCode, log(s)).toBe(0);
  }, 900_000);
});
