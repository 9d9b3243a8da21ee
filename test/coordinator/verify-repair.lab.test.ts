import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSocketHttp, waitFor } from '../lab/http.js';
import { nodeExec, type NodeName } from '../lab/index.js';
import { pgduplex } from '../lab/setup-pair.js';
import { nodeSql as sql } from '../lab/sql.js';
import { pendingJournalCounts, undoEverything } from '../lab/undo-all.js';
import { cleanUpFixturePair, setUpFixturePair } from '../lab/fixture-pair.js';

// verify --table and --repair on the real FS PBX schema: a row of v_domains updated on both nodes while one
// direction was paused (a then holds b's value, b holds a's), a row only a has and one only b has (written
// under a replication origin, so they did not replicate). --repair --keep a makes b equal to a through
// replication itself, nothing flows back to a, and the undo of rows-take puts b's rows back from the backup.
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const ORIGIN = `select pg_replication_origin_create('pgdx_test') where not exists
  (select from pg_replication_origin where roname = 'pgdx_test');
select pg_replication_origin_session_setup('pgdx_test');`;
const ONLY_A = '00000000-0000-4000-8000-0000000000aa';
const ONLY_B = '00000000-0000-4000-8000-0000000000bb';
const row = (node: NodeName, uuid: string) =>
  sql(node, `select coalesce((select t::text from v_domains t where domain_uuid = '${uuid}'), 'none')`);
const description = (node: NodeName, uuid: string) =>
  sql(node, `select coalesce((select domain_description from v_domains where domain_uuid = '${uuid}'), 'none')`);
const states = async (uuid: string) =>
  Object.fromEntries(
    await Promise.all(
      (['a', 'b'] as const).flatMap((n) => [uuid, ONLY_A, ONLY_B].map(async (u) => [`${n}:${u}`, await row(n, u)])),
    ),
  ) as Record<string, string>;

const metrics = async (node: NodeName) => (await nodeSocketHttp(node, '/metrics')).body;
const watch = (node: NodeName) =>
  pgduplex(node, 'watch', '--min-interval', '0', '--max-seconds', '900', '--pause-ms', '0');

let before: Record<NodeName, number>;
let uuid = '';
let divergedAt = 0;
// The .deb's 15-minute watch timer would walk the tables whenever the wall clock says: each round here is the test's.
const timers = (verb: 'start' | 'stop') =>
  Promise.all((['a', 'b'] as const).map((n) => nodeExec(n, ['systemctl', verb, 'pgduplex-watch.timer'])));

beforeAll(async () => {
  before = await pendingJournalCounts();
  await timers('stop');
  await setUpFixturePair();
  uuid = await sql('a', 'select domain_uuid from v_domains order by domain_uuid limit 1');
}, 900_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const)
    await sql(
      node,
      `select pg_replication_origin_drop(roname) from pg_replication_origin where roname in ('pgdx_test', 'pgduplex_local')`,
    );
  await cleanUpFixturePair('/var/backups/pgduplex/*-fusionpbx /var/backups/pgduplex/rows-*');
  await timers('start');
  expect(await pendingJournalCounts()).toEqual(before);
}, 600_000);

describe('pgduplex verify --table and --repair on the FS PBX schema', () => {
  it('makes a divergence: the same v_domains row updated on both nodes, and a row only on each', async () => {
    divergedAt = Math.floor(Date.now() / 1000);
    await sql('b', 'alter subscription pgduplex_from_a disable');
    await sql('a', `update v_domains set domain_description = 'from a' where domain_uuid = '${uuid}'`);
    await sql('b', `update v_domains set domain_description = 'from b' where domain_uuid = '${uuid}'`);
    await waitFor(
      'b’s update on a',
      () => description('a', uuid),
      (d) => d === 'from b',
      30_000,
    );
    await sql('b', 'alter subscription pgduplex_from_a enable');
    await waitFor(
      'a’s update on b',
      () => description('b', uuid),
      (d) => d === 'from a',
      60_000,
    );
    await sql('a', `${ORIGIN} insert into v_domains (domain_uuid, domain_name) values ('${ONLY_A}', 'only-a.example')`);
    await sql('b', `${ORIGIN} insert into v_domains (domain_uuid, domain_name) values ('${ONLY_B}', 'only-b.example')`);
    expect(await row('b', ONLY_A)).toBe('none');
    expect(await row('a', ONLY_B)).toBe('none');
  });

  it('verify --table v_domains names the three keys and how each differs (exit 1)', async () => {
    const r = await pgduplex('a', 'verify', '--table', 'v_domains');
    expect(r.exitCode, log(r)).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`DIFFERS +a/b +verify: public\\.v_domains key ${uuid}: content differs`));
    expect(r.stdout).toContain(`key ${ONLY_A}: only on a`);
    expect(r.stdout).toContain(`key ${ONLY_B}: only on b`);
    expect(r.stdout).toMatch(/public\.v_domains: 3 rows differ \(\d+ slices, \d+ differing; rows in flight awaited\)/);
  });

  it('one watch round walks every table, finds v_domains; /metrics on both nodes and status show it', async () => {
    const r = await watch('a');
    expect(r.exitCode, log(r)).toBe(1);
    expect(r.stdout).toMatch(
      /ok +a\+b +watch: \d+ slices, \d+ tables finished; (\d+)\/\1 tables this pass \(pass complete\)/,
    );
    expect(r.stdout).toMatch(/note +a +watch: public\.device_phonebook skipped: .* has no primary key/);
    expect(r.stdout).toMatch(
      /DIFFERS .* watch: public\.v_domains: 3 rows differ .*pgduplex verify --table public\.v_domains/,
    );
    for (const node of ['a', 'b'] as const) {
      const m = await metrics(node);
      expect(m).toMatch(/^pgduplex_divergent_tables 1$/m);
      expect(m).toMatch(/^pgduplex_divergent_rows_sampled 3$/m);
      expect(m).toMatch(/^pgduplex_last_equal_timestamp_seconds\{table="public\.v_users"\} \d+$/m);
      // An earlier round (another test's, on this lab) may have seen it equal; this one did not.
      const equalAt = /^pgduplex_last_equal_timestamp_seconds\{table="public\.v_domains"\} (\d+)$/m.exec(m)?.[1];
      expect(Number(equalAt ?? 0)).toBeLessThan(divergedAt);
      expect(m).toMatch(/^pgduplex_watch_pass_progress_ratio 1$/m);
    }
    const st = await pgduplex('b', 'status');
    expect(st.exitCode, log(st)).toBe(3);
    expect(st.stdout).toMatch(/DIVERGING public\.v_domains: 3 rows differ/);
    const skipped = await pgduplex('b', 'watch');
    expect(skipped.stdout).toMatch(/watch: skipped, the last round ran \d+ s ago/);
  });

  it('--dry-run lists what would change and changes nothing; without --yes it refuses after listing', async () => {
    const was = await states(uuid);
    const journals = await pendingJournalCounts();
    const dry = await pgduplex('a', 'verify', '--table', 'v_domains', '--repair', '--keep', 'a', '--dry-run');
    expect(dry.exitCode, log(dry)).toBe(1);
    expect(dry.stdout).toContain("b takes a's version of 3 rows: 1 overwritten, 1 added, 1 deleted");
    expect(dry.stdout).toMatch(/would +b +rows-take: back up 2 rows of public\.v_domains/);
    expect(dry.stdout).toMatch(/would +a +rows-push: rewrite 2 rows of public\.v_domains/);
    expect(dry.stdout).toContain('dry run: nothing was changed');
    const no = await pgduplex('a', 'verify', '--table', 'v_domains', '--repair', '--keep', 'a');
    expect(no.exitCode, log(no)).toBe(1);
    expect(no.stdout).toMatch(/would +b +rows-take/);
    expect(no.stderr).toContain('needs confirmation and there is no terminal to ask on');
    const bad = await pgduplex('a', 'verify', '--table', 'v_domains', '--repair', '--keep', 'c', '--yes');
    expect(bad.exitCode, log(bad)).toBe(2);
    expect(bad.stderr).toContain('--keep "c" is neither a nor b');
    expect(await states(uuid)).toEqual(was);
    expect(await pendingJournalCounts()).toEqual(journals);
  });

  let takeId = '';
  let aRow = '';
  it('--repair --keep a --yes makes b equal to a through replication; nothing flows back to a; verify passes', async () => {
    aRow = await row('a', uuid);
    const r = await pgduplex('a', 'verify', '--table', 'v_domains', '--repair', '--keep', 'a', '--yes', '--json');
    expect(r.exitCode, log(r)).toBe(0);
    const j = JSON.parse(r.stdout) as { equal: boolean; repair: { takeJournalId: string; backup: string } };
    expect(j.equal).toBe(true);
    takeId = j.repair.takeJournalId;
    expect(j.repair.backup).toMatch(
      /^\/var\/backups\/pgduplex\/rows-\d{8}T\d{9}Z-[0-9a-f]{6}-fusionpbx\.public\.v_domains\.copy$/,
    );
    const mode = await nodeExec('b', ['stat', '-c', '%U %a', j.repair.backup]);
    expect(mode.stdout.trim()).toBe('root 600');
    expect(await row('b', uuid)).toBe(aRow);
    expect(await row('b', ONLY_A)).toBe(await row('a', ONLY_A));
    expect(await row('b', ONLY_B)).toBe('none');
    // Nothing flowed back: a's rows are as they were, and a never got b's extra row.
    expect(await row('a', uuid)).toBe(aRow);
    expect(await row('a', ONLY_B)).toBe('none');
    const again = await pgduplex('b', 'verify', '--table', 'public.v_domains');
    expect(again.exitCode, log(again)).toBe(0);
    expect(again.stdout).toMatch(/ok +b\+a +verify: public\.v_domains identical/);
    const full = await pgduplex('a', 'verify');
    expect(full.exitCode, log(full)).toBe(0);
  });

  it('the next watch pass finds every table equal; /metrics and status say so', async () => {
    const r = await watch('b');
    expect(r.exitCode, log(r)).toBe(0);
    const m = await metrics('a');
    expect(m).toMatch(/^pgduplex_divergent_tables 0$/m);
    expect(m).toMatch(/^pgduplex_last_equal_timestamp_seconds\{table="public\.v_domains"\} \d+$/m);
    const st = await pgduplex('a', 'status');
    expect(st.exitCode, log(st)).toBe(0);
    expect(st.stdout).toMatch(/no table differs \(\d+ tables compared\)/);
  });

  it('pgduplex undo lists the rows-take on b; from a it is refused (b’s operator undoes it); --dry-run changes nothing', async () => {
    const list = await pgduplex('a', 'undo', '--list');
    expect(list.exitCode, log(list)).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`pending +b +${takeId} \\S+ rows-take: `));
    const fromA = await pgduplex('a', 'undo', takeId, '--yes');
    expect(fromA.exitCode, log(fromA)).toBe(1);
    expect(fromA.stderr).toContain(`run pgduplex undo ${takeId} on b itself`);
    const dry = await pgduplex('b', 'undo', takeId, '--dry-run');
    expect(dry.exitCode, log(dry)).toBe(0);
    expect(dry.stdout).toMatch(/would +b +undo rows-take/);
    expect(dry.stdout).toContain('dry run: nothing was changed');
    const no = await pgduplex('b', 'undo', takeId);
    expect(no.exitCode, log(no)).toBe(1);
    expect(no.stderr).toContain('needs confirmation and there is no terminal to ask on');
    expect(await description('b', uuid)).toBe(await description('a', uuid));
  });

  it("pgduplex undo of rows-take puts b's rows back from the backup, without sending anything to a", async () => {
    const r = await pgduplex('b', 'undo', takeId, '--yes');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).toMatch(
      /changed +b +restored 2 rows of public\.v_domains on b from \/var\/backups\/pgduplex\/rows-/,
    );
    expect(await description('b', uuid)).toBe('from a');
    expect(await row('b', ONLY_B)).not.toBe('none');
    expect(await row('b', ONLY_A)).toBe('none');
    await new Promise((ok) => setTimeout(ok, 3000));
    expect(await row('a', uuid)).toBe(aRow);
    expect(await row('a', ONLY_B)).toBe('none');
    expect(await row('a', ONLY_A)).not.toBe('none');
    const v = await pgduplex('a', 'verify', '--table', 'v_domains');
    expect(v.exitCode, log(v)).toBe(1);
  });
});
