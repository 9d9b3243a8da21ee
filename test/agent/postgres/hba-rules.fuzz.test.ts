import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHostAddress } from '../../../agent/firewall/address.js';
import { pgNameSchema, pgRoleSchema } from '../../../shared/protocol/identifier.js';
import { hbaErrors, verifyBlockRules, type HbaFileRule } from '../../../agent/postgres/hba-rules.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, textInput } from '../../fuzz/mutate.js';

// pg_hba_file_rules rows come from the server's parse of a file anyone with root may have edited;
// names come from the command line. Neither may crash the agent or pass for what they are not.
const FILE = '/etc/postgresql/17/main/pg_hba.conf';
const SPECS = [
  { peer: parseHostAddress('fd00:231:7::12'), role: 'pgduplex_repl', database: 'fusionpbx', physical: true },
  { peer: parseHostAddress('10.231.7.12'), role: 'pgduplex_repl', database: 'fusionpbx', physical: false },
];
const good = (s: (typeof SPECS)[number], line: number, database: string): HbaFileRule => ({
  file: FILE,
  line,
  type: 'hostssl',
  database: [database],
  user: [s.role],
  address: s.peer.address,
  netmask: s.peer.family === 4 ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  method: 'scram-sha-256',
  error: null,
});
const anyText = fc.oneof(
  fc.constantFrom(
    'hostssl',
    'host',
    'fusionpbx',
    'replication',
    'pgduplex_repl',
    '10.231.7.12',
    'fd00:231:7::12',
    '::ffff:10.231.7.12',
    'scram-sha-256',
    '255.255.255.255',
    FILE,
  ),
  fc.string({ maxLength: 20 }),
);
/** Any value PostgreSQL's typed columns can hold for a field (text, int, text[], each nullable but file and line). */
const edit = fc.oneof(
  fc.tuple(fc.constantFrom('type', 'address', 'netmask', 'method', 'error'), fc.option(anyText, { nil: null })),
  fc.tuple(fc.constantFrom('database', 'user'), fc.option(fc.array(anyText, { maxLength: 3 }), { nil: null })),
  fc.tuple(fc.constant('file'), anyText),
  fc.tuple(fc.constant('line'), fc.integer({ min: 1, max: 12 })),
);

describe('verifyBlockRules under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('verifies the block only when PostgreSQL reads exactly its rules at its lines, whatever else the rows hold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SPECS),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.tuple(fc.nat(), edit), { maxLength: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 12 }), edit), { maxLength: 4 }),
        (s, at, edits, noise) => {
          const dbs = s.physical ? [s.database, 'replication'] : [s.database];
          const lines = dbs.map((_, i) => at + i);
          const rows = dbs.map((db, i) => good(s, at + i, db)) as unknown as Array<Record<string, unknown>>;
          for (const [pick, [f, v]] of edits) rows[pick % rows.length]![f] = v;
          const unchanged = rows.every((r, i) => JSON.stringify(r) === JSON.stringify(good(s, at + i, dbs[i]!)));
          // Other rules, never at a line of the block: PostgreSQL reports one row per file line.
          const extra = noise
            .map(([line, [f, v]]) => ({ ...good(s, line, 'x'), [f]: v }))
            .filter((r) => !(r.file === FILE && lines.includes(r.line as number)));
          const all = [...rows, ...extra] as unknown as HbaFileRule[];
          const problems = verifyBlockRules(all, FILE, lines, s);
          expect(problems.every((p) => typeof p === 'string' && !p.includes('\n'))).toBe(true);
          if (unchanged) expect(problems).toEqual([]);
          else expect(problems.length).toBeGreaterThan(0);
          expect(() => hbaErrors(all)).not.toThrow();
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('pg_hba names under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('accept only plain names that can sit unquoted in pg_hba.conf and SQL', () => {
    fc.assert(
      fc.property(
        textInput(
          fc.constantFrom('fusionpbx', 'pgduplex_repl', 'all', 'replication', 'pg_x', 'postgres', 'a'.repeat(63)),
        ),
        (name) => {
          for (const schema of [pgNameSchema, pgRoleSchema]) {
            const r = schema.safeParse(name);
            if (!r.success) continue;
            expect(r.data).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
            expect(['all', 'sameuser', 'samerole', 'samegroup', 'replication']).not.toContain(r.data);
          }
          if (pgRoleSchema.safeParse(name).success) expect(name.startsWith('pg_') || name === 'postgres').toBe(false);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
