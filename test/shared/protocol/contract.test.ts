import { describe, expect, it } from 'vitest';
import { defineHandler } from '../../../agent/actions/registry.js';
import { defineChange } from '../../../agent/actions/change.js';
import type { Agents } from '../../../coordinator/setup/agents.js';
import { pgHbaChange, pgReachAction } from '../../../shared/protocol/postgres.js';

// Type-level checks: `npm test` runs tsc over test/, so each @ts-expect-error that stops being an error
// fails the run. Agent and coordinator are typed by the same descriptor; a mismatch does not compile.
const agents = {} as Agents;
const neverCalled = false;

describe('the shared contract', () => {
  it('does not compile a coordinator call with a param the agent does not take, or a result field it does not give', () => {
    if (neverCalled) {
      // @ts-expect-error pg-hba takes `peer`, not `peerAddress`
      void agents.call('local', pgHbaChange.apply, { peerAddress: '10.0.0.2', role: 'r', database: 'd' });
      void agents.call('local', pgReachAction, { host: '10.0.0.2', port: 5432 }).then((r) => {
        // @ts-expect-error pg.reach answers `ms`, not `millis`
        void r.millis;
      });
    }
    expect(neverCalled).toBe(false);
  });

  it('does not compile an agent handler that answers something else than its descriptor says', () => {
    // @ts-expect-error `reachable` must be a boolean
    defineHandler({ descriptor: pgReachAction, run: async () => ({ reachable: 'yes', ms: 1 }) });
    defineChange(pgHbaChange, {
      check: async () => ({ changes: [] }),
      apply: async () => ({ changed: false, changes: [] }),
      // @ts-expect-error the undo record of pg-hba has no `file`
      undo: async (r) => [r.file],
    });
    expect(pgHbaChange.apply.name).toBe('pg-hba.apply');
  });
});
