import { describe, expect, it } from 'vitest';
import { parseHostAddress } from '../../../agent/firewall/address.js';
import { psqlSet, quoteIdent } from '../../../agent/postgres/hba-names.js';
import { pgNameSchema, pgRoleSchema } from '../../../shared/protocol/identifier.js';
import { hbaErrors, verifyBlockRules, type HbaFileRule } from '../../../agent/postgres/hba-rules.js';

const FILE = '/etc/postgresql/17/main/pg_hba.conf';
const spec = { peer: parseHostAddress('fd00:231:7::12'), role: 'pgduplex_repl', database: 'fusionpbx', physical: true };
// Rows as PostgreSQL 17's pg_hba_file_rules returned them in the lab.
const row = (line: number, database: string, extra: Partial<HbaFileRule> = {}): HbaFileRule => ({
  file: FILE,
  line,
  type: 'hostssl',
  database: [database],
  user: ['pgduplex_repl'],
  address: 'fd00:231:7::12',
  netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  method: 'scram-sha-256',
  error: null,
  ...extra,
});

describe('verifying the block through pg_hba_file_rules', () => {
  it('accepts exactly the rules placed at the given lines', () => {
    expect(verifyBlockRules([row(12, 'fusionpbx'), row(13, 'replication')], FILE, [12, 13], spec)).toEqual([]);
  });

  it('reports a missing line, an error PostgreSQL found, and a rule that reads differently', () => {
    const rules = [
      row(12, 'fusionpbx', { error: 'hostssl record cannot match because SSL is disabled' }),
      row(13, 'replication', { method: 'md5' }),
    ];
    const wrong = verifyBlockRules(rules, FILE, [12, 13, 14], spec);
    expect(wrong).toHaveLength(3);
    expect(wrong[0]).toBe('line 12: hostssl record cannot match because SSL is disabled');
    expect(wrong[1]).toContain('"method":"md5"');
    expect(wrong[2]).toBe('line 14: PostgreSQL does not read a rule there');
    expect(
      verifyBlockRules([row(12, 'fusionpbx', { file: '/elsewhere' }), row(13, 'replication')], FILE, [12, 13], spec),
    ).toHaveLength(1);
  });

  it('lists every error in the file', () => {
    expect(hbaErrors([row(1, 'a'), row(7, 'b', { error: 'invalid CIDR mask in address "10.0.0.1/33"' })])).toEqual([
      `${FILE} line 7: invalid CIDR mask in address "10.0.0.1/33"`,
    ]);
  });
});

describe('names written into pg_hba.conf and SQL', () => {
  it('accepts plain lower-case names', () => {
    for (const ok of ['fusionpbx', 'pgduplex_repl', '_x', 'a'.repeat(63), 'public'])
      expect(pgNameSchema.safeParse(ok).success).toBe(true);
  });

  it('rejects quotes, spaces, newlines, commas, @, /, +, upper case, pg_hba keywords and reserved roles', () => {
    for (const bad of [
      '',
      'a b',
      'a"b',
      "a'b",
      'a\nb',
      'a,b',
      '@file',
      '/re',
      '+group',
      'Fusion',
      '1abc',
      'a'.repeat(64),
      'all',
      'replication',
      'samerole',
    ]) {
      expect(pgNameSchema.safeParse(bad).success).toBe(false);
    }
    for (const bad of ['postgres', 'public', 'pg_monitor', 'none', 'current_user'])
      expect(pgRoleSchema.safeParse(bad).success).toBe(false);
    expect(pgRoleSchema.safeParse('pgduplex_repl').success).toBe(true);
  });

  it('quotes identifiers and refuses anything psqlSet cannot pass safely', () => {
    expect(quoteIdent('we"ird\nname')).toBe('"we""ird\nname"');
    expect(psqlSet('verifier', 'SCRAM-SHA-256$4096:abc+/=$x:y')).toBe(
      "\\set verifier 'SCRAM-SHA-256$4096:abc+/=$x:y'\n",
    );
    for (const bad of ["it's", 'back\\slash', 'new\nline', 'sp ace']) expect(() => psqlSet('v', bad)).toThrow();
  });
});
