import { describe, expect, it } from 'vitest';
import { buildRegistry } from '../../../agent/actions/index.js';
import type { AgentServices } from '../../../agent/actions/context.js';
import { ACTIONS, CHANGES, changeNamed } from '../../../shared/protocol/catalogue.js';

const registry = buildRegistry({ limits: { toolTimeoutMs: 1000 }, postgresql: undefined } as unknown as AgentServices);
const names = [...ACTIONS.map((a) => a.name), ...CHANGES.flatMap((c) => [c.check.name, c.apply.name])];

describe('the action catalogue', () => {
  it('has exactly one agent handler per action, and no handler outside it', () => {
    expect(new Set(names).size).toBe(names.length);
    expect(registry.names()).toEqual([...names].sort());
  });

  it('names reads noun or noun.verb and changes noun.check / noun.apply, lower case', () => {
    for (const n of names) expect(n).toMatch(/^[a-z][a-z-]*(\.[a-z]+)?$/);
    for (const c of CHANGES) expect(c.name).toMatch(/^[a-z][a-z-]*$/);
  });

  it('knows every change a 0.1.0 journal holds, and what teardown does with it', () => {
    const v010 = [
      'firewall',
      'backup',
      'backup-restore',
      'publication',
      'sequences',
      'replica-identity',
      'pg-passfile',
      'subscription',
      'extensions',
      'schema-import',
      'subscription-drop',
      'slot-drop',
      'pg-settings',
      'pg-hba',
      'pg-role',
    ];
    for (const name of v010) expect(changeNamed(name), name).toBeDefined();
    expect(
      CHANGES.filter((c) => c.teardown === 'keep')
        .map((c) => c.name)
        .sort(),
    ).toEqual([
      'backup',
      'backup-restore',
      'extensions',
      'foreign-access',
      'foreign-drop',
      'pg-cluster-drop',
      'pg-upgrade',
      'rows-push',
      'rows-take',
      'schema-carry',
      'schema-import',
      'slot-drop',
      'subscription-drop',
    ]);
    expect(CHANGES.filter((c) => c.teardown === 'first').map((c) => c.name)).toEqual([
      'subscription',
      'subscription-adopt',
    ]);
  });
});
