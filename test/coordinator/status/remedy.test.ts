import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  conflictRemedies,
  parseKey,
  quoteIdent,
  quoteLiteral,
  shellArg,
  type Remedy,
} from '../../../coordinator/status/remedy.js';
import type { ReplicationLogError } from '../../../shared/replication.js';

const conflict = (table: string, key: string, finishLsn = '0/1'): ReplicationLogError & { finishLsn: string } => ({
  at: '',
  subscription: null,
  origin: 'pg_1',
  worker: 'apply',
  message: 'duplicate key value violates unique constraint "T_pkey"',
  detail: null,
  table,
  key,
  finishLsn,
});

/** The SQL bash hands psql for a remedy command: what the operator's paste really runs. */
const sqlOf = (fix: Remedy | undefined): string =>
  execFileSync('bash', [
    '-c',
    `set -- ${(fix?.command ?? '').replace(/^runuser -u postgres -- /, '')}; printf %s "\${@: -1}"`,
  ]).toString();

describe('remedy commands', () => {
  it('quotes SQL so bash passes it through unchanged, whatever it holds', () => {
    for (const s of [
      `ALTER SUBSCRIPTION x SKIP (lsn = '0/1')`,
      `DELETE FROM "Odd"."T" WHERE "k" = 'it''s $HOME \`x\` \\ !'`,
    ]) {
      expect(execFileSync('bash', ['-c', `printf %s ${shellArg(s)}`]).toString()).toBe(s);
    }
  });

  it('quotes identifiers always and literals whatever standard_conforming_strings says', () => {
    expect(quoteIdent('id')).toBe('"id"');
    expect(quoteIdent('user')).toBe('"user"');
    expect(quoteIdent('a"; DROP TABLE x; --')).toBe('"a""; DROP TABLE x; --"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral("a\\' OR 1=1 --")).toBe("E'a\\\\'' OR 1=1 --'");
  });

  it('splits a key into columns and values only when that is unambiguous', () => {
    expect(parseKey('(id)=(1000)')).toEqual([['id', '1000']]);
    expect(parseKey('(domain_uuid, name)=(0b5c, x)')).toEqual([
      ['domain_uuid', '0b5c'],
      ['name', 'x'],
    ]);
    // PostgreSQL prints a name that needs it as quote_identifier does: taken back to the name itself.
    expect(parseKey('("Weird ""col"", x", id)=(1, 2)')).toEqual([
      ['Weird "col", x', '1'],
      ['id', '2'],
    ]);
    expect(parseKey('(name)=(a, b)')).toEqual([['name', 'a, b']]);
    expect(parseKey('(a, b)=(1, x, y)')).toMatch(/a value holds ", "/);
    expect(parseKey('no key')).toMatch(/not of the form/);
    expect(parseKey('(lower(name::text))=(x)')).toMatch(/not plain column names/);
    expect(parseKey('(id = 1 OR true --)=(1)')).toMatch(/not plain column names/);
    expect(parseKey('("a)=(b")=(1)')).toMatch(/"\)=\(" inside it/);
    expect(parseKey('(id)=(1)=(2)')).toMatch(/"\)=\(" inside it/);
    expect(parseKey('(id)=(1\u001b[2J)')).toMatch(/control characters/);
    expect(parseKey('("unclosed)=(1)')).toMatch(/not closed/);
  });

  it('deletes the local row under a local origin, quoting names and values', () => {
    const { remedies, refused } = conflictRemedies(
      conflict('public.Jobs', `(id)=(it's)`),
      'pgduplex_from_a',
      'fusionpbx',
      'b',
      'a',
    );
    expect(refused).toBeUndefined();
    const sql = sqlOf(remedies[1]);
    expect(sql).toContain(`DELETE FROM "public"."Jobs" WHERE "id" = 'it''s'`);
    expect(sql).toContain(`pg_replication_origin_session_setup('pgduplex_local')`);
    expect(sqlOf(remedies[0])).toBe(`ALTER SUBSCRIPTION "pgduplex_from_a" SKIP (lsn = '0/1')`);
  });

  it('keeps a hostile column name one quoted identifier', () => {
    const key = `("id"" = '1' OR true; DROP TABLE v_users; --", "select")=(7, x)`;
    const { remedies } = conflictRemedies(conflict('public.t', key), 'pgduplex_from_a', 'fusionpbx', 'b', 'a');
    expect(sqlOf(remedies[1])).toContain(
      `DELETE FROM "public"."t" WHERE "id"" = '1' OR true; DROP TABLE v_users; --" = '7' AND "select" = 'x'`,
    );
  });

  it('offers no row repair, and says why, for a key it cannot read unambiguously', () => {
    for (const [table, key, why] of [
      ['public.t', '(a)=(1)=(2)', /"\)=\(" inside it/],
      ['public.t', '(lower(a))=(x)', /not plain column names/],
      ['public.t', '(a, b)=(1, 2, 3)', /a value holds/],
      ['a.b.c', '(a)=(1)', /table name "a\.b\.c" is ambiguous/],
    ] as const) {
      const r = conflictRemedies(conflict(table, key), 'pgduplex_from_a', 'fusionpbx', 'b', 'a');
      expect(r.remedies).toHaveLength(1);
      expect(r.remedies[0]?.command).toContain('SKIP');
      expect(r.refused).toMatch(/no command to delete b's conflicting row is offered/);
      expect(r.refused).toMatch(why);
    }
  });

  it('offers nothing for a finish LSN that is not one', () => {
    const r = conflictRemedies(conflict('public.t', '(a)=(1)', "0/1'); DROP TABLE x; --"), 'p', 'fusionpbx', 'b', 'a');
    expect(r.remedies).toEqual([]);
    expect(r.refused).toMatch(/is not an LSN/);
  });
});
