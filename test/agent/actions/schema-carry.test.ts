import { describe, expect, it } from 'vitest';
import { takenFromLent } from '../../../agent/actions/schema-carry.js';

const state = (kept: Record<string, { columns: string[]; triggers?: string; identity?: string }>, acl = {}) => ({
  missing: [],
  owners: {},
  acl: acl as Record<string, string>,
  kept: Object.fromEntries(
    Object.entries(kept).map(([t, k]) => [
      t,
      { columns: k.columns, triggers: k.triggers ?? '', identity: k.identity ?? 'd' },
    ]),
  ),
});

describe('takenFromLent', () => {
  const before = state(
    { v_domains: { columns: ['domain_name', 'domain_uuid'], triggers: 't=O' } },
    { v_domains: 'x|' },
  );

  it('lets a carry add columns and change the replica identity to an index', () => {
    const after = state(
      { v_domains: { columns: ['domain_name', 'domain_uuid', 'pbx_region'], triggers: 't=O', identity: 'i' } },
      { v_domains: 'x|' },
    );
    expect(takenFromLent(before, after)).toEqual([]);
  });

  it('names a dropped table, a dropped or renamed column, a switched trigger, NOTHING and a grant', () => {
    expect(takenFromLent(before, state({}))).toEqual(['table v_domains was dropped or renamed']);
    const after = state(
      { v_domains: { columns: ['domain_uuid', 'name'], triggers: 't=D', identity: 'n' } },
      { v_domains: 'x,y|' },
    );
    expect(takenFromLent(before, after)).toEqual([
      'v_domains: columns dropped or renamed: domain_name',
      'v_domains: its triggers changed',
      'v_domains: replica identity set to NOTHING',
      'v_domains: its grants changed',
    ]);
  });
});
