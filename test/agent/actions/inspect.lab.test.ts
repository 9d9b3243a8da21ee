import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hazardsAction } from '../../../shared/protocol/facts.js';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { nodeExec } from '../../lab/index.js';

const sql = (text: string, db = 'fusionpbx') =>
  nodeExec(
    'a',
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', '-'],
    { input: text },
  );
const SEED = `create table hz_ok (id uuid primary key default gen_random_uuid(), t timestamptz default now(), f float8 default 0.1, j jsonb default '{"a":1}');
create table hz_nopk (k text, v int); insert into hz_nopk select 'k' || g, g from generate_series(1, 50) g; update hz_nopk set v = v + 1 where v < 5;
create table hz_serial (id bigserial primary key, note text);
create unlogged table hz_unlogged (id int primary key);
insert into hz_ok (t) select now() - g * interval '1 minute' from generate_series(1, 300) g;
insert into hz_serial (note) select 'n' from generate_series(1, 10) g;`;
const undo: string[] = [];

beforeAll(async () => {
  await sql(SEED);
});
afterAll(async () => {
  for (const id of undo) await agentRpc('a', 'journal.undo', { id });
  await sql('drop table if exists hz_ok, hz_nopk, hz_serial, hz_unlogged;');
  await nodeExec('a', ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
});

describe('read-only inspection for setup and verify (node a)', () => {
  it('names each replication hazard with its table', async () => {
    const h = hazardsAction.result.parse(await agentOk('a', 'hazards', { database: 'fusionpbx' }));
    expect(h.noReplicaIdentity).toEqual([{ table: 'public.hz_nopk', identity: 'd', updates: 4 }]);
    expect(h.sequenceKeys).toEqual([{ sequence: 'public.hz_serial_id_seq', increment: 1 }]);
    expect(h.unlogged).toEqual(['public.hz_unlogged']);
    expect(h.largeObjects).toBe(0);
    expect(h.tables).toEqual(expect.arrayContaining(['public.hz_ok', 'public.hz_nopk', 'public.hz_serial']));
    // Sorted by name, whatever order the catalog holds them in: setup compares these lists between nodes.
    expect(h.tables).toEqual([...h.tables].sort());
    expect(h.tables.indexOf('public.hz_nopk')).toBeLessThan(h.tables.indexOf('public.hz_ok'));
  });

  it('gives equal checksums for a faithful copy and different ones after a single changed row', async () => {
    const b = await agentOk<{ journalId: string; notes: string[] }>('a', 'backup.apply', { database: 'fusionpbx' });
    undo.push(b.journalId);
    const id = /backup id (\S+) in/.exec(b.notes[0] ?? '')![1]!;
    const r = await agentOk<{ journalId: string }>('a', 'backup-restore.apply', { id, into: 'pgduplex_restore_ck' });
    undo.unshift(r.journalId);
    type Sums = Array<{ table: string; rows: number; sum: string }>;
    const [src, copy] = await Promise.all([
      agentOk<Sums>('a', 'tables.checksum', { database: 'fusionpbx' }),
      agentOk<Sums>('a', 'tables.checksum', { database: 'pgduplex_restore_ck' }),
    ]);
    expect(src.find((t) => t.table === 'public.hz_ok')?.rows).toBe(300);
    expect(copy.filter((t) => t.table.startsWith('public.hz_'))).toEqual(
      src.filter((t) => t.table.startsWith('public.hz_')),
    );
    await sql(`update hz_nopk set v = v + 1 where k = 'k42';`, 'pgduplex_restore_ck');
    const changed = await agentOk<Sums>('a', 'tables.checksum', { database: 'pgduplex_restore_ck' });
    const before = src.find((t) => t.table === 'public.hz_nopk');
    const after = changed.find((t) => t.table === 'public.hz_nopk');
    expect(after?.rows).toBe(before?.rows);
    expect(after?.sum).not.toBe(before?.sum);
  });
});
