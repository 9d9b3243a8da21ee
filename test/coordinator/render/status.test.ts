import { describe, expect, it } from 'vitest';
import { errorsLine } from '../../../coordinator/render/status.js';

const sub = {
  enabled: true,
  streaming: true,
  tables: { r: 3 },
  lastMessageAt: null,
  applyErrors: 1,
  syncErrors: 2,
  lastError: null,
};

describe('errorsLine', () => {
  it('says n/a, naming the major, where the subscriber has no conflict counters', () => {
    expect(errorsLine({ ...sub, conflicts: null, syncSeqErrors: null, serverVersionNum: 170010 })).toBe(
      'errors: 1 apply, 2 sync; conflicts: n/a (PostgreSQL 17 has no conflict counters)',
    );
  });

  it("shows 18's conflict counters, and 19's table and sequence sync errors apart", () => {
    expect(errorsLine({ ...sub, conflicts: { insert_exists: 0 }, serverVersionNum: 180004 })).toBe(
      'errors: 1 apply, 2 sync; conflicts: insert_exists 0',
    );
    expect(errorsLine({ ...sub, syncSeqErrors: 5, conflicts: { update_deleted: 4 }, serverVersionNum: 190000 })).toBe(
      'errors: 1 apply, 2 table sync, 5 sequence sync; conflicts: update_deleted 4',
    );
    const off = { ...sub, conflicts: { update_deleted: 0 }, retainDeadTuples: false, serverVersionNum: 190000 };
    expect(errorsLine(off)).toBe(
      'errors: 1 apply, 2 sync; conflicts: update_deleted 0 (update_deleted not counted: retain_dead_tuples is off)',
    );
  });
});
