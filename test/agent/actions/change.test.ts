import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeHandlers, originOf, plannedChange, type ChangeJournal } from '../../../agent/actions/change.js';
import { Journal } from '../../../agent/state/journal.js';
import type { ActionContext } from '../../../shared/channel/rpc.js';
import { defineChange as describeChange } from '../../../shared/protocol/change.js';

const d = describeChange({
  name: 'thing',
  params: z.strictObject({ want: z.number() }),
  record: z.strictObject({ was: z.number() }),
  teardown: 'normal',
  noun: 'thing',
  callers: ['local'],
});

/** A change that sets `value` to `want`; `stuck` makes make do nothing, as a change the system undid at once. */
function fixture(stuck = false) {
  const state = { value: 1 };
  const journaled: Array<{ changes: string[]; record: unknown }> = [];
  const journal: ChangeJournal<typeof d.record> = {
    make: async (changes, record, make) => {
      journaled.push({ changes, record });
      return { journalId: `j${journaled.length}`, result: await make(async (f) => void (await f())) };
    },
    record: async () => 'j',
  };
  const action = plannedChange(d, {
    plan: async ({ want }) => ({
      changes: state.value === want ? [] : [`set ${state.value} to ${want}`],
      record: { was: state.value },
      state: want,
    }),
    make: async ({ state: want }) => {
      if (!stuck) state.value = want;
    },
    undo: async ({ was }) => ((state.value = was), [`back to ${was}`]),
  });
  return { action, journal, journaled, state };
}

describe('plannedChange', () => {
  it('checks with the plan, applies it once through the journal, and a second apply changes nothing', async () => {
    const { action, journal, journaled, state } = fixture();
    expect(await action.check({ want: 2 })).toEqual({ changes: ['set 1 to 2'] });
    expect(await action.apply({ want: 2 }, journal)).toEqual({
      changed: true,
      changes: ['set 1 to 2'],
      journalId: 'j1',
    });
    expect(journaled).toEqual([{ changes: ['set 1 to 2'], record: { was: 1 } }]);
    expect(await action.apply({ want: 2 }, journal)).toEqual({ changed: false, changes: [] });
    expect(journaled).toHaveLength(1);
    expect(await action.undo({ was: 1 })).toEqual(['back to 1']);
    expect(state.value).toBe(1);
  });

  it('fails with CHANGE_NOT_VERIFIED, naming what is left and the journal entry, when a re-plan is not empty', async () => {
    const { action, journal } = fixture(true);
    await expect(action.apply({ want: 3 }, journal)).rejects.toMatchObject({
      code: 'CHANGE_NOT_VERIFIED',
      message: 'thing is not in place after it was made: set 1 to 3',
      hint: expect.stringContaining('journal entry j1'),
    });
  });
});

describe('changeHandlers', () => {
  const ctx = (origin: 'local' | 'peer') => ({ origin, progress: () => undefined }) as ActionContext;

  it('journals each apply with who asked: this node, or the peer by the fingerprint it is trusted under', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgdx-origin-'));
    try {
      const journal = Journal.in(dir);
      const { action } = fixture();
      const apply = changeHandlers(action, journal, () => 'ABCDEFGHIJKLMNOPQRST').find(
        (h) => h.descriptor.name === 'thing.apply',
      )!;
      await apply.run({ want: 2 }, ctx('peer'));
      await apply.run({ want: 3 }, ctx('local'));
      expect((await journal.list()).map((e) => [e.action, e.origin, e.peer])).toEqual([
        ['thing', 'peer', 'ABCDEFGHIJKLMNOPQRST'],
        ['thing', 'local', undefined],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never records a fingerprint for a local call, and none for a peer when no peer is trusted', () => {
    expect(originOf(ctx('local'), () => 'ABCDEFGHIJKLMNOPQRST')).toEqual({ origin: 'local' });
    expect(originOf(ctx('peer'), () => undefined)).toEqual({ origin: 'peer' });
  });
});
