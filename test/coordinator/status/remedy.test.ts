import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { conflictRemedies, parseKey, shellArg } from '../../../coordinator/status/remedy.js';

describe('remedy commands', () => {
  it('quotes SQL so bash passes it through unchanged, whatever it holds', () => {
    for (const s of [
      `ALTER SUBSCRIPTION x SKIP (lsn = '0/1')`,
      `DELETE FROM "Odd"."T" WHERE "k" = 'it''s $HOME \`x\` \\ !'`,
    ]) {
      expect(execFileSync('bash', ['-c', `printf %s ${shellArg(s)}`]).toString()).toBe(s);
    }
  });

  it('splits a key into columns and values only when that is unambiguous', () => {
    expect(parseKey('(id)=(1000)')).toEqual([['id', '1000']]);
    expect(parseKey('(domain_uuid, name)=(0b5c, x)')).toEqual([
      ['domain_uuid', '0b5c'],
      ['name', 'x'],
    ]);
    expect(parseKey('(a, b)=(1, x, y)')).toBeUndefined();
    expect(parseKey('no key')).toBeUndefined();
  });

  it('deletes the local row under a local origin, quoting names and values', () => {
    const [, fix] = conflictRemedies(
      {
        at: '',
        subscription: null,
        origin: 'pg_1',
        worker: 'apply',
        message: 'duplicate key value violates unique constraint "T_pkey"',
        detail: null,
        table: 'public.Jobs',
        key: `(id)=(it's)`,
        finishLsn: '0/1',
      },
      'pgduplex_from_a',
      'fusionpbx',
      'b',
      'a',
    );
    const sql = execFileSync('bash', [
      '-c',
      `set -- ${(fix?.command ?? '').replace(/^runuser -u postgres -- /, '')}; printf %s "\${@: -1}"`,
    ]).toString();
    expect(sql).toContain(`DELETE FROM public."Jobs" WHERE id = 'it''s'`);
    expect(sql).toContain(`pg_replication_origin_session_setup('pgduplex_local')`);
  });
});
