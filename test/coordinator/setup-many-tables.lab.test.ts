import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRpc } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { labSql } from '../lab/node-snapshot.js';
import { cleanUpLabPair, pgduplex as cli, setUpLabPair } from '../lab/setup-pair.js';

// A schema whose per-table answers (checksums, sync states, digests) no longer fit one 64 KiB frame:
// every peer call must still work, from setup to teardown.
const TABLES = 800;
const name = (i: number) => `pgdx_many_${String(i).padStart(4, '0')}_${'x'.repeat(48)}`;
const FIXTURE = `do $$ begin
  for i in 1..${TABLES} loop
    execute format('create table %I (id bigserial primary key, note text)', 'pgdx_many_' || lpad(i::text, 4, '0') || '_' || repeat('x', 48));
    execute format('insert into %I (note) select ''row '' || g from generate_series(1, 3) g', 'pgdx_many_' || lpad(i::text, 4, '0') || '_' || repeat('x', 48));
  end loop;
end $$;`;

beforeAll(async () => {
  expect(name(1)).toHaveLength(63); // PostgreSQL's longest identifier
  await setUpLabPair(FIXTURE);
}, 1_800_000);

afterAll(async () => {
  await cleanUpLabPair(Array.from({ length: TABLES }, (_, i) => name(i + 1)));
}, 900_000);

describe(`setup, verify, status and teardown with ${TABLES} tables of 63-character names`, () => {
  it('verify compares every table', async () => {
    const r = await cli('a', 'verify');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${TABLES} tables identical (rows and checksums)`);
  });

  it('status from b reports both directions healthy', async () => {
    const r = await cli('b', 'status');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it('a row written on b arrives on a', async () => {
    await labSql('b', `insert into ${name(TABLES)} (note) values ('from b')`);
    await waitFor(
      'the row on a',
      () => labSql('a', `select count(*) from ${name(TABLES)} where note = 'from b'`),
      (n) => n === '1',
      60_000,
    );
  });

  it("a request too large for one frame reaches the peer whole: a's agent relays a check listing every table to b", async () => {
    const list = Array.from({ length: TABLES }, (_, i) => ({ schema: 'public', name: name(i + 1) }));
    expect(JSON.stringify(list).length).toBeGreaterThan(65_536);
    const r = await agentRpc<{ changes: string[] }>('a', 'peer.call', {
      action: 'publication.check',
      params: { database: 'fusionpbx', name: 'pgduplex_pub', tables: { list } },
    });
    expect(r).toMatchObject({
      ok: true,
      result: {
        changes: [
          expect.stringContaining(
            `change publication pgduplex_pub in fusionpbx for ${TABLES} tables (public.${name(1)}`,
          ),
        ],
      },
    });
  });

  it('teardown undoes both sides', async () => {
    const r = await cli('a', 'teardown', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    // One line per sequence would be 1,600 lines: the first ten of each node, then a count.
    expect(r.stdout).toMatch(/^changed\s+a\s+sequences: … and \d+ more like these \(--json lists every one\)$/m);
    expect(r.stdout.split('\n').length).toBeLessThan(200);
    expect(await labSql('b', 'select count(*) from pg_subscription')).toBe('0');
  });
});
