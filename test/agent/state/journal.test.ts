import { appendFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgduplexError } from '../../../shared/errors.js';
import { Journal } from '../../../agent/state/journal.js';

let dir: string;
let journal: Journal;
const lines = async () =>
  (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; id: string; of?: string });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-journal-'));
  journal = Journal.in(dir);
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('Journal.make (write-ahead)', () => {
  it('writes the entry before the change runs, and marks it done after', async () => {
    let seenDuringChange: unknown;
    const { journalId, result } = await journal.make('firewall', ['allow x'], { added: ['x'] }, async () => {
      seenDuringChange = await journal.list();
      return 42;
    });
    expect(result).toBe(42);
    expect(seenDuringChange).toMatchObject([{ id: journalId, action: 'firewall', interrupted: true, undone: false }]);
    expect(await journal.list()).toMatchObject([
      { id: journalId, changes: ['allow x'], undo: { added: ['x'] }, interrupted: false, undone: false },
    ]);
    expect((await lines()).map((l) => l.type)).toEqual(['intent', 'done']);
  });

  it('drops a change that failed (and rolled itself back) from the list, and rethrows its error', async () => {
    const boom = new PgduplexError('PG_QUERY_FAILED', 'no');
    await expect(journal.make('publication', ['create p'], {}, () => Promise.reject(boom))).rejects.toBe(boom);
    expect(await journal.list()).toEqual([]);
    expect((await lines()).map((l) => l.type)).toEqual(['intent', 'aborted']);
  });

  it('marks a change aborted when its rollback worked', async () => {
    let rolledBack = false;
    const boom = new PgduplexError('PG_QUERY_FAILED', 'no');
    const fail = journal.make('publication', ['create p'], {}, async (rollback) => {
      await rollback(async () => void (rolledBack = true));
      throw boom;
    });
    await expect(fail).rejects.toBe(boom);
    expect(rolledBack).toBe(true);
    expect(await journal.list()).toEqual([]);
  });

  it('keeps a change whose rollback failed too, interrupted, and says so with the entry to undo', async () => {
    const fail = journal.make('firewall', ['allow x'], { added: ['x'] }, async (rollback) => {
      await rollback(() => Promise.reject(new PgduplexError('FIREWALL_FAILED', 'iptables -D said no')));
      throw new PgduplexError('FIREWALL_FAILED', 'iptables -A said no', { hint: 'retry' });
    });
    const err = (await fail.catch((e: unknown) => e)) as PgduplexError;
    const [entry] = await journal.list();
    expect(entry).toMatchObject({ action: 'firewall', interrupted: true, undone: false, undo: { added: ['x'] } });
    expect(err.code).toBe('FIREWALL_FAILED');
    expect(err.message).toBe(
      `iptables -A said no; rolling it back failed too (iptables -D said no), so journal entry ${entry!.id} stays and its undo reverses what is left`,
    );
    expect(err.hint).toContain('pgduplex teardown');
    expect((await lines()).map((l) => l.type)).toEqual(['intent']);
  });

  it('reports a change whose process died mid-way as interrupted, with its undo data, until it is undone', async () => {
    const id = 'c0ffee00-0000-4000-8000-000000000001';
    await appendFile(
      join(dir, 'journal.jsonl'),
      `${JSON.stringify({ type: 'intent', id, at: new Date().toISOString(), action: 'firewall', changes: ['allow y'], undo: { added: ['y'] } })}\n`,
    );
    const reopened = Journal.in(dir);
    expect(await reopened.list()).toMatchObject([{ id, interrupted: true, undone: false, undo: { added: ['y'] } }]);
    await reopened.markUndone(id);
    expect(await reopened.list()).toMatchObject([{ id, interrupted: true, undone: true }]);
  });

  it('changes nothing when it cannot journal first, and says what to do', async () => {
    await mkdir(join(dir, 'journal.jsonl'));
    let ran = false;
    const err = await journal.make('firewall', ['allow x'], {}, async () => void (ran = true)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'JOURNAL_UNWRITABLE', message: expect.stringContaining('nothing was changed') });
    expect(ran).toBe(false);
  });

  it('keeps entries written by record (a change already made) and reads older journals unchanged', async () => {
    const id = await journal.record('backup', ['backup b1'], { id: 'b1' });
    expect(await journal.list()).toMatchObject([{ id, action: 'backup', interrupted: false, undone: false }]);
  });

  it('says which line is damaged instead of guessing', async () => {
    await journal.record('backup', ['backup b1'], { id: 'b1' });
    await appendFile(join(dir, 'journal.jsonl'), '{"type":"intent","id":\n');
    await expect(journal.list()).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('line 2 is damaged'),
    });
  });
});

describe('Journal origins', () => {
  it('records who caused each change, the peer by fingerprint, and journal.list shows it', async () => {
    const { journalId: mine } = await journal.make('firewall', ['allow x'], {}, async () => 1, { origin: 'local' });
    const { journalId: theirs } = await journal.make('pg-hba', ['add block'], {}, async () => 2, {
      origin: 'peer',
      peer: 'ABCDEFGHIJKLMNOPQRST',
    });
    const kept = await journal.record('backup', ['b1'], { id: 'b1' }, { origin: 'peer', peer: 'ABCDEFGHIJKLMNOPQRST' });
    expect(await journal.list()).toMatchObject([
      { id: mine, origin: 'local' },
      { id: theirs, origin: 'peer', peer: 'ABCDEFGHIJKLMNOPQRST' },
      { id: kept, origin: 'peer', peer: 'ABCDEFGHIJKLMNOPQRST' },
    ]);
    expect((await journal.list())[0]).not.toHaveProperty('peer');
    const { journalHandlers } = await import('../../../agent/actions/change.js');
    const list = journalHandlers([], journal).find((h) => h.descriptor.name === 'journal.list')!;
    const shown = (await list.run({}, {} as Parameters<typeof list.run>[1])) as Array<Record<string, unknown>>;
    expect(shown.map((e) => [e['origin'], e['peer']])).toEqual([
      ['local', undefined],
      ['peer', 'ABCDEFGHIJKLMNOPQRST'],
      ['peer', 'ABCDEFGHIJKLMNOPQRST'],
    ]);
    expect(list.descriptor.result.safeParse(shown).success).toBe(true);
  });

  it('loads a journal written before origins were recorded: its entries have none', async () => {
    const at = new Date().toISOString();
    const old = { type: 'change', id: 'c0ffee00-0000-4000-8000-000000000002', at, action: 'pg-hba', changes: ['x'] };
    await appendFile(join(dir, 'journal.jsonl'), `${JSON.stringify({ ...old, undo: {} })}\n`);
    const [entry] = await Journal.in(dir).list();
    expect(entry).toMatchObject({ id: old.id, action: 'pg-hba' });
    expect(entry).not.toHaveProperty('origin');
  });
});

describe('journal.list', () => {
  it('with pending: true leaves out what was undone, so its answer stays as small as what is still in place', async () => {
    const { journalHandlers } = await import('../../../agent/actions/change.js');
    const list = journalHandlers([], journal).find((h) => h.descriptor.name === 'journal.list')!;
    const kept = await journal.record('backup', ['b1'], { id: 'b1' });
    const gone = await journal.record('backup', ['b2'], { id: 'b2' });
    await journal.markUndone(gone);
    const ctx = {} as Parameters<typeof list.run>[1];
    expect(((await list.run({ pending: true }, ctx)) as Array<{ id: string }>).map((e) => e.id)).toEqual([kept]);
    expect(((await list.run({}, ctx)) as Array<{ id: string }>).map((e) => e.id)).toEqual([kept, gone]);
  });
});

describe('Journal.head', () => {
  it('is null for no journal, then the id of the newest line, read from the end of a long journal', async () => {
    expect(await journal.head()).toBeNull();
    const { journalId } = await journal.make('firewall', ['allow x'], {}, async () => undefined);
    const done = (await lines()).at(-1);
    expect(done?.type).toBe('done');
    expect(await journal.head()).toBe(done?.id);
    expect(await journal.head()).not.toBe(journalId);
    for (let i = 0; i < 200; i++) await journal.record('backup', [`backup ${i}`], { id: `b${i}` });
    const big = await journal.record('backup', ['x'.repeat(20_000)], { id: 'big' });
    expect(await journal.head()).toBe(big);
    await journal.markUndone(big);
    expect(await journal.head()).toBe((await lines()).at(-1)?.id);
  });
});
