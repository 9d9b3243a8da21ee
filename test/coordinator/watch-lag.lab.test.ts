import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpFixturePair, setUpFixturePair } from '../lab/fixture-pair.js';
import { nodeSocketHttp, waitFor } from '../lab/http.js';
import type { NodeName } from '../lab/index.js';
import { pgduplex } from '../lab/setup-pair.js';
import { nodeSql as sql } from '../lab/sql.js';
import { pendingJournalCounts } from '../lab/undo-all.js';

// A long lag is not divergence, on a 17↔17 pair with the FS PBX fixture: b's subscription disabled, rows written
// on a (new rows and updates of existing ones). A watch round must not call the differing slices divergent (the
// lag cannot drain: it says so and waits at the slice) and status must name what is wrong (replication stopped).
// Once the subscription is enabled again and the lag drained, the next round finds every table equal.
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const metrics = async (node: NodeName) => (await nodeSocketHttp(node, '/metrics')).body;
const watch = (node: NodeName) =>
  pgduplex(node, 'watch', '--min-interval', '0', '--max-seconds', '900', '--pause-ms', '0');
const lastEqual = (m: string, table: string) =>
  Number(new RegExp(`^pgduplex_last_equal_timestamp_seconds\\{table="${table}"\\} (\\d+)$`, 'm').exec(m)?.[1] ?? 0);
const WRITES = `update v_domains set domain_description = 'lagging ' || domain_uuid
  where domain_uuid in (select domain_uuid from v_domains order by domain_uuid limit 3);
insert into v_domains (domain_uuid, domain_name)
  select gen_random_uuid(), 'lag-' || g || '.example' from generate_series(1, 2) g;
update v_users set user_status = 'lagging' where user_uuid in (select user_uuid from v_users order by user_uuid limit 5);`;
const count = (node: NodeName) => sql(node, "select count(*) from v_domains where domain_name like 'lag-%'");

let before: Record<NodeName, number>;

beforeAll(async () => {
  before = await pendingJournalCounts();
  await setUpFixturePair();
}, 900_000);

afterAll(async () => {
  await sql('b', 'alter subscription pgduplex_from_a enable').catch(() => undefined);
  await cleanUpFixturePair('/var/backups/pgduplex/*-fusionpbx /var/lib/pgduplex/watch.json');
  expect(await pendingJournalCounts()).toEqual(before);
}, 600_000);

describe('a long lag is not divergence (17↔17, FS PBX fixture)', () => {
  it('with b not applying a’s changes, a watch round says the slice is lagging, not divergent', async () => {
    await sql('b', 'alter subscription pgduplex_from_a disable');
    await sql('a', WRITES);
    const started = Date.now();
    const r = await watch('a');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).not.toContain('DIFFERS');
    expect(r.stdout).toMatch(
      /LAGGING +a +watch: public\.v_domains: rows differ while replication is stopped: b is not applying a's changes/,
    );
    expect(r.stdout).toContain('not counted as divergence');
    // The lag cannot drain with the subscription disabled: the round does not wait for it.
    expect(Date.now() - started).toBeLessThan(100_000);
    for (const node of ['a', 'b'] as const) {
      const m = await metrics(node);
      expect(m).toMatch(/^pgduplex_divergent_tables 0$/m);
      expect(m).toMatch(/^pgduplex_watch_unsettled_tables 1$/m);
      expect(m).not.toContain('pgduplex_last_equal_timestamp_seconds{table="public.v_domains"}');
    }
  });

  it('status names what is wrong (b’s subscription disabled), not divergence', async () => {
    const st = await pgduplex('a', 'status');
    expect(st.exitCode, log(st)).toBe(3);
    expect(st.stdout).not.toContain('DIVERGING');
    expect(st.stdout).toMatch(/disabled/i);
    expect(st.stdout).toMatch(/LAGGING public\.v_domains .*replication is stopped/);
    const again = await watch('b');
    expect(again.exitCode, log(again)).toBe(0);
    expect(again.stdout).not.toContain('DIFFERS');
  });

  it('once enabled and drained, the next round finds every table equal; /metrics and status say so', async () => {
    await sql('b', 'alter subscription pgduplex_from_a enable');
    await waitFor(
      'a’s rows on b',
      () => count('b'),
      (n) => n === '2',
      60_000,
    );
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await watch('a');
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).not.toMatch(/LAGGING|DIFFERS/);
    expect(r.stdout).toMatch(/\(pass complete\)/);
    for (const node of ['a', 'b'] as const) {
      const m = await metrics(node);
      expect(m).toMatch(/^pgduplex_divergent_tables 0$/m);
      expect(m).toMatch(/^pgduplex_watch_unsettled_tables 0$/m);
      expect(lastEqual(m, 'public.v_domains')).toBeGreaterThanOrEqual(since);
      expect(lastEqual(m, 'public.v_users')).toBeGreaterThanOrEqual(since);
    }
    const st = await pgduplex('a', 'status');
    expect(st.exitCode, log(st)).toBe(0);
    expect(st.stdout).toMatch(/no table differs \(\d+ tables compared\)/);
    expect(st.stdout).not.toContain('LAGGING');
  });
});
