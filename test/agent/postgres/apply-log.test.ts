import { describe, expect, it } from 'vitest';
import { latestReplicationErrors, parseReplicationErrors } from '../../../agent/postgres/apply-log.js';

// Lines as PostgreSQL 17 on Debian 13 wrote them in the lab (log_line_prefix '%m [%p] %q%u@%d ').
const PG17 = `2026-11-23 04:39:30.200 UTC [665] LOG:  logical replication apply worker for subscription "pgduplex_from_a" has started
2026-11-23 04:39:30.229 UTC [665] ERROR:  duplicate key value violates unique constraint "jobs_pkey"
2026-11-23 04:39:30.229 UTC [665] DETAIL:  Key (id)=(1000) already exists.
2026-11-23 04:39:30.229 UTC [665] CONTEXT:  processing remote data for replication origin "pg_16410" during message type "INSERT" for replication target relation "public.jobs" in transaction 758, finished at 0/199E3C8
2026-11-23 04:39:30.251 UTC [548] LOG:  background worker "logical replication apply worker" (PID 665) exited with exit code 1
2026-11-23 04:39:33.420 UTC [666] pgduplex_repl@fusionpbx LOG:  starting logical decoding for slot "pgduplex_from_b"
2026-11-23 04:39:33.421 UTC [666] pgduplex_repl@fusionpbx ERROR:  replication slot "x" is active for PID 1
2026-11-23 04:39:35.211 UTC [667] LOG:  logical replication apply worker for subscription "pgduplex_from_a" has started
2026-11-23 04:39:35.226 UTC [667] ERROR:  duplicate key value violates unique constraint "jobs_pkey"
2026-11-23 04:39:35.226 UTC [667] DETAIL:  Key (id)=(1000) already exists.
2026-11-23 04:39:35.226 UTC [667] CONTEXT:  processing remote data for replication origin "pg_16410" during message type "INSERT" for replication target relation "public.jobs" in transaction 759, finished at 0/199E4F0
`;

const CONNECT = `2026-11-23 04:40:49.951 UTC [731] LOG:  logical replication apply worker for subscription "pgduplex_from_b" has started
2026-11-23 04:40:49.955 UTC [731] ERROR:  could not connect to the publisher: connection to server at "10.231.7.12", port 5432 failed: Connection refused
		Is the server running on that host and accepting TCP/IP connections?
2026-11-23 04:40:49.970 UTC [562] LOG:  background worker "logical replication apply worker" (PID 731) exited with exit code 1
`;

// PostgreSQL 18's conflict report (format from its documentation and tests).
const PG18 = `2026-11-23 05:00:00.000 UTC [900] LOG:  logical replication apply worker for subscription "pgduplex_from_b" has started
2026-11-23 05:00:00.010 UTC [900] ERROR:  conflict detected on relation "public.v_domains": conflict=insert_exists
2026-11-23 05:00:00.010 UTC [900] DETAIL:  Could not apply remote change: Key already exists in unique index "v_domains_pkey", modified locally in transaction 801 at 2026-11-23 04:59:59.000+00: key (domain_uuid)=(0b5c...), local row (0b5c..., x).
2026-11-23 05:00:00.010 UTC [900] CONTEXT:  processing remote data for replication origin "pg_16500" during message type "INSERT" for replication target relation "public.v_domains" in transaction 812, finished at 1/A0
`;

describe('parseReplicationErrors', () => {
  it('finds a PG17 unique violation with its subscription, table, key and finish LSN', () => {
    const errors = parseReplicationErrors(PG17);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toEqual({
      at: '2026-11-23T04:39:35.226Z',
      subscription: 'pgduplex_from_a',
      origin: 'pg_16410',
      worker: 'apply',
      message: 'duplicate key value violates unique constraint "jobs_pkey"',
      detail: 'Key (id)=(1000) already exists.',
      table: 'public.jobs',
      key: '(id)=(1000)',
      finishLsn: '0/199E4F0',
    });
  });

  it('ignores errors of ordinary sessions and walsenders', () => {
    expect(parseReplicationErrors(PG17).map((e) => e.message)).not.toContain(
      'replication slot "x" is active for PID 1',
    );
  });

  it('joins continuation lines and keeps an error without origin (a connection failure) by its subscription', () => {
    const [e] = parseReplicationErrors(CONNECT);
    expect(e).toMatchObject({ subscription: 'pgduplex_from_b', origin: null, finishLsn: null });
    expect(e?.message).toContain('Connection refused Is the server running');
  });

  it("reads PG18's conflict report: relation from the message, key from the detail", () => {
    const [e] = parseReplicationErrors(PG18);
    expect(e).toMatchObject({
      table: 'public.v_domains',
      key: '(domain_uuid)=(0b5c...)',
      origin: 'pg_16500',
      finishLsn: '1/A0',
    });
  });

  it('keeps an apply error whose worker start line fell out of the tail, by its origin', () => {
    const tail = PG17.split('\n').slice(8).join('\n');
    expect(parseReplicationErrors(tail)).toEqual([
      expect.objectContaining({ subscription: null, origin: 'pg_16410', finishLsn: '0/199E4F0' }),
    ]);
  });

  it('leaves a timestamp in a named zone as written', () => {
    const [e] = parseReplicationErrors(PG17.replaceAll(' UTC [', ' CET ['));
    expect(e?.at).toBe('2026-11-23 04:39:30.229 CET');
  });
});

describe('latestReplicationErrors', () => {
  it('keeps the last error per origin and per subscription for the rest', () => {
    const latest = latestReplicationErrors(parseReplicationErrors(PG17 + CONNECT));
    expect(latest.map((e) => [e.origin ?? e.subscription, e.finishLsn])).toEqual([
      ['pg_16410', '0/199E4F0'],
      ['pgduplex_from_b', null],
    ]);
  });
});
