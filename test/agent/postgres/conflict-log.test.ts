import { describe, expect, it } from 'vitest';
import { linesOf, parseConflictLines } from '../../../agent/postgres/conflict-log.js';

// PostgreSQL 18's conflict reports (ReportApplyConflict / errdetail_apply_conflict in conflict.c): the LOG line,
// its DETAIL (continuation lines start with a tab) and the apply worker's CONTEXT.
const K = '6f1d2c1e-0000-4000-8000-000000000001';
const PG18 = `2026-12-07 20:00:00.000 UTC [900] LOG:  logical replication apply worker for subscription "pgduplex_from_b" has started
2026-12-07 20:05:01.250 UTC [900] LOG:  conflict detected on relation "public.v_domains": conflict=update_origin_differs
2026-12-07 20:05:01.250 UTC [900] DETAIL:  Updating the row that was modified locally in transaction 771 at 2026-12-07 20:05:00.118741+00.
	Existing local row (${K}, d1.example, edited on a); remote row (${K}, d1.example, edited on b); replica identity (domain_uuid)=(${K}).
2026-12-07 20:05:01.250 UTC [900] CONTEXT:  processing remote data for replication origin "pg_16410" during message type "UPDATE" for replication target relation "public.v_domains" in transaction 765, finished at 0/3000A10
2026-12-07 20:06:00.000 UTC [901] ERROR:  conflict detected on relation "public.v_users": conflict=insert_exists
2026-12-07 20:06:00.000 UTC [901] DETAIL:  Key already exists in unique index "v_users_pkey", modified locally in transaction 790 at 2026-12-07 20:05:59+00.
	Key (user_uuid)=(u-1); existing local tuple (u-1, x); remote tuple (u-1, y).
2026-12-07 20:06:00.000 UTC [901] CONTEXT:  processing remote data for replication origin "pg_16410" during message type "INSERT" for replication target relation "public.v_users" in transaction 766, finished at 0/3000B10
2026-12-07 20:07:00.000 UTC [902] LOG:  conflict detected on relation "public.device_phonebook": conflict=delete_missing
2026-12-07 20:07:00.000 UTC [902] DETAIL:  Could not find the row to be deleted.
	Replica identity full (1, x).
`;

// Verbatim from the 18↔18 lab (status-conflicts.lab.test.ts): a's log after the crossing updates.
const LAB18 = `2026-12-07 20:14:23.661 UTC [762] LOG:  conflict detected on relation "public.v_domains": conflict=update_origin_differs
2026-12-07 20:14:23.661 UTC [762] DETAIL:  Updating the row that was modified locally in transaction 764 at 2026-12-07 20:14:23.528984+00.
	Existing local row (6f1d2c1e-0000-4000-8000-000000000001, d1.example, edited on a); remote row (6f1d2c1e-0000-4000-8000-000000000001, d1.example, edited on b); replica identity (domain_uuid)=(6f1d2c1e-0000-4000-8000-000000000001).
2026-12-07 20:14:23.661 UTC [762] CONTEXT:  processing remote data for replication origin "pg_16409" during message type "UPDATE" for replication target relation "public.v_domains" in transaction 770, finished at 0/1BF8510
2026-12-07 20:14:23.716 UTC [763] pgduplex_repl@fusionpbx LOG:  starting logical decoding for slot "pgduplex_from_a"
`;

describe('parseConflictLines', () => {
  it("reads a real PostgreSQL 18 report (the lab's), tied to its subscription's origin", () => {
    expect(parseConflictLines(LAB18)).toEqual([
      {
        at: '2026-12-07T20:14:23.661Z',
        subscription: null,
        origin: 'pg_16409',
        table: 'public.v_domains',
        type: 'update_origin_differs',
        key: `(domain_uuid)=(${K})`,
      },
    ]);
  });

  it('reads each conflict: table, type, key from the DETAIL, subscription by pid, origin by CONTEXT', () => {
    const lines = parseConflictLines(PG18);
    expect(lines).toEqual([
      {
        at: '2026-12-07T20:05:01.250Z',
        subscription: 'pgduplex_from_b',
        origin: 'pg_16410',
        table: 'public.v_domains',
        type: 'update_origin_differs',
        key: `(domain_uuid)=(${K})`,
      },
      {
        at: '2026-12-07T20:06:00.000Z',
        subscription: null,
        origin: 'pg_16410',
        table: 'public.v_users',
        type: 'insert_exists',
        key: '(user_uuid)=(u-1)',
      },
      {
        at: '2026-12-07T20:07:00.000Z',
        subscription: null,
        origin: null,
        table: 'public.device_phonebook',
        type: 'delete_missing',
        key: null,
      },
    ]);
  });

  it("reads 19's wording (local row / remote row / replica identity) the same way", () => {
    const text = `2026-12-07 20:05:01.250 UTC [900] LOG:  conflict detected on relation "public.t": conflict=update_missing
2026-12-07 20:05:01.250 UTC [900] DETAIL:  Could not find the row to be updated: remote row (2, b), replica identity (id, n)=(2, 7).`;
    expect(parseConflictLines(text)[0]?.key).toBe('(id, n)=(2, 7)');
  });

  it('reads a DETAIL whose tuple part starts with the replica identity (delete_missing)', () => {
    const text = `2026-12-07 20:05:01.250 UTC [900] LOG:  conflict detected on relation "public.t": conflict=delete_missing
2026-12-07 20:05:01.250 UTC [900] DETAIL:  Could not find the row to be deleted.
	Replica identity (id)=(5).`;
    expect(parseConflictLines(text)[0]?.key).toBe('(id)=(5)');
  });

  it('ignores replication errors that are not conflicts, and lines of other processes', () => {
    const text = `2026-12-07 20:05:01.250 UTC [900] ERROR:  could not connect to the publisher
2026-12-07 20:05:01.250 UTC [901] DETAIL:  replica identity (id)=(1).`;
    expect(parseConflictLines(text)).toEqual([]);
  });

  it('linesOf keeps one subscription’s lines (by name or origin) logged since the baseline', () => {
    const lines = parseConflictLines(PG18);
    const sub = { name: 'pgduplex_from_b', origin: 'pg_16410' };
    expect(linesOf(lines, sub, '1970-01-01T00:00:00.000Z')).toHaveLength(2);
    expect(linesOf(lines, sub, '2026-12-07T20:05:30.000Z').map((l) => l.table)).toEqual(['public.v_users']);
    expect(linesOf(lines, { name: 'other', origin: 'pg_1' }, '1970-01-01T00:00:00.000Z')).toEqual([]);
  });
});
