import { describe, expect, it } from 'vitest';
import { checkVerifyOptions } from '../../../coordinator/commands/verify.js';
import { keptNode, planRepair, planSummary } from '../../../coordinator/verify/repair-plan.js';
import { parseTableName } from '../../../coordinator/verify/table-compare.js';
import type { PairFacts } from '../../../coordinator/setup/steps.js';
import { MAX_KEYS_PER_CALL, rowsTakeChange } from '../../../shared/protocol/rows.js';

const f: PairFacts = {
  database: 'fusionpbx',
  source: { side: 'local', node: 'a', address: '10.0.0.1' },
  target: { side: 'peer', node: 'b', address: '10.0.0.2' },
  pgPort: 5432,
};
const rows = [
  { key: ['k1'], source: 'a1', target: 'b1' },
  { key: ['k2'], source: 'a2' },
  { key: ['k3'], target: 'b3' },
];
const t = { schema: 'public', table: 'v_domains' };

describe('repair planning', () => {
  it('keeping a: b has k1 overwritten, k2 added, k3 deleted, each checked against b’s hash', () => {
    const p = planRepair(f, t, rows, 'a');
    expect(p.keep.node).toBe('a');
    expect(p.other.node).toBe('b');
    expect(p.take).toEqual({
      database: 'fusionpbx',
      schema: 'public',
      table: 'v_domains',
      overwrite: [{ key: ['k1'], hash: 'b1' }],
      remove: [{ key: ['k3'], hash: 'b3' }],
      arrive: [['k2']],
    });
    expect(p.push.keys).toEqual([['k1'], ['k2']]);
    expect(p.push.absent).toEqual([['k3']]);
    expect(planSummary(p)).toEqual([
      "public.v_domains: b takes a's version of 3 rows: 1 overwritten, 1 added, 1 deleted",
    ]);
  });

  it('keeping b (the peer) mirrors it: a is the node that takes', () => {
    const p = planRepair(f, t, rows, 'b');
    expect(p.other.side).toBe('local');
    expect(p.take.overwrite).toEqual([{ key: ['k1'], hash: 'a1' }]);
    expect(p.take.remove).toEqual([{ key: ['k2'], hash: 'a2' }]);
    expect(p.take.arrive).toEqual([['k3']]);
    expect(p.push.keys).toEqual([['k1'], ['k3']]);
  });

  it('repairs at most one call’s keys and says how many are left', () => {
    const many = Array.from({ length: MAX_KEYS_PER_CALL + 5 }, (_, i) => ({ key: [`k${i}`], source: 'x' }));
    const p = planRepair(f, t, many, 'a');
    expect(p.take.arrive).toHaveLength(MAX_KEYS_PER_CALL);
    expect(p.left).toBe(5);
    expect(planSummary(p)[0]).toContain('(5 more differ: run it again afterwards)');
    expect(rowsTakeChange.params.safeParse(p.take).success).toBe(true);
  });

  it('refuses a node name that is neither node, and bad option combinations, before anything runs', () => {
    expect(() => keptNode(f, 'c')).toThrow('--keep "c" is neither a nor b');
    expect(() => checkVerifyOptions({ repair: true, keep: 'a' })).toThrow('--repair needs --table');
    expect(() => checkVerifyOptions({ table: 't', repair: true })).toThrow('--repair needs --keep NODE');
    expect(() => checkVerifyOptions({ table: 't', yes: true })).toThrow('--keep, --dry-run and --yes go with --repair');
    expect(() => checkVerifyOptions({ table: 't', repair: true, keep: 'a', dryRun: true })).not.toThrow();
  });

  it('parses --table as an optionally schema-qualified plain name', () => {
    expect(parseTableName('v_domains')).toEqual({ schema: 'public', table: 'v_domains' });
    expect(parseTableName('app.jobs')).toEqual({ schema: 'app', table: 'jobs' });
    for (const bad of ['V_Domains', 'a.b.c', 'x;drop', '"t"', ''])
      expect(() => parseTableName(bad)).toThrow('is not a table name pgduplex accepts');
  });

  it('rows-take refuses more keys in all than one call carries', () => {
    const k = (i: number) => ({ key: [`k${i}`], hash: '0'.repeat(32) });
    const half = Array.from({ length: MAX_KEYS_PER_CALL / 2 + 1 }, (_, i) => k(i));
    const p = { database: 'd', schema: 'public', table: 't', overwrite: half, remove: half, arrive: [] };
    expect(rowsTakeChange.params.safeParse(p).success).toBe(false);
  });
});
