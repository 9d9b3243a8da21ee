import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { undoArgs } from '../../coordinator/cli/undo.js';
import type { Agents } from '../../coordinator/setup/agents.js';
import { findEntry, undoEntry, type NodeJournal } from '../../coordinator/undo/undo.js';
import { PgduplexError } from '../../shared/errors.js';

// `pgduplex undo`: its arguments checked before any agent is asked, the entry found on the node that made it,
// --dry-run changing nothing, and no undo without --yes or a terminal to ask on.
const ID = '0b5c6f1e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
const entry = (id: string, action = 'rows-take') => ({
  id,
  at: '2026-01-01T00:00:00Z',
  action,
  changes: ['backed up 2 rows of public.v_domains', 'deleted 1 row under origin pgduplex_local'],
  undone: false,
  interrupted: false,
});
const usageOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PgduplexError);
    expect((err as PgduplexError).code).toBe('USAGE');
    return (err as PgduplexError).message;
  }
  throw new Error('no usage error');
};

describe('pgduplex undo: arguments', () => {
  it('no id lists; an id with its options passes through', () => {
    expect(undoArgs(undefined, {})).toEqual({ dryRun: false, yes: false, json: false });
    expect(undoArgs(undefined, { list: true, json: true })).toEqual({ dryRun: false, yes: false, json: true });
    expect(undoArgs(ID, { node: 'b', dryRun: true })).toEqual({
      id: ID,
      node: 'b',
      dryRun: true,
      yes: false,
      json: false,
    });
    expect(undoArgs(ID, { yes: true })).toMatchObject({ id: ID, yes: true });
  });

  it('refuses what makes no sense, naming it', () => {
    expect(usageOf(() => undoArgs(ID, { list: true }))).toContain('--list takes no entry id');
    expect(usageOf(() => undoArgs('latest', {}))).toContain('"latest" is not a journal entry id');
    expect(usageOf(() => undoArgs(undefined, { yes: true }))).toContain('go with an entry id');
    expect(usageOf(() => undoArgs(undefined, { node: 'a' }))).toContain('go with an entry id');
    expect(usageOf(() => undoArgs(ID, { dryRun: true, yes: true }))).toContain('takes no --yes');
  });
});

describe('pgduplex undo: finding and undoing the entry', () => {
  const journals: NodeJournal[] = [
    { node: 'a', side: 'local', entries: [entry('1a5c6f1e-1d2a-4c3b-9e8f-7a6b5c4d3e2f', 'pg-hba')] },
    { node: 'b', side: 'peer', entries: [entry(ID)] },
  ];
  it('finds it on the node that holds it, or says where it looked', () => {
    expect(findEntry(journals, ID)).toMatchObject({ node: 'b', side: 'peer', entry: { action: 'rows-take' } });
    expect(() => findEntry(journals, ID, 'a')).toThrow(/no journal entry "0b5c6f1e-.*" waiting to be undone on a/);
    expect(() => findEntry(journals, ID, 'c')).toThrow('--node "c" is neither a nor b');
    const down = [journals[0]!, { node: 'peer', side: 'peer' as const, entries: [], unreachable: 'no route' }];
    expect(() => findEntry(down, ID)).toThrow('(the peer did not answer: no route)');
  });

  const agents = (asked: string[], refuse = false): Agents => ({
    call: (async (side: string, d: { name: string }, p: { id?: string }) => {
      asked.push(`${side}:${d.name}${p.id ? ` ${p.id}` : ''}`);
      if (d.name === 'whoami') return side === 'local' ? { node: 'a', peerAddress: '10.0.0.2' } : { node: 'b' };
      if (d.name === 'journal.list') return side === 'local' ? journals[0]!.entries : journals[1]!.entries;
      if (refuse) throw new PgduplexError('PEER_NOT_ALLOWED', 'b does not let its peer ask journal.undo');
      return { undone: ['restored 2 rows of public.v_domains on b'] };
    }) as Agents['call'],
  });

  it('--dry-run lists what it would take back and undoes nothing', async () => {
    const asked: string[] = [];
    const lines: string[] = [];
    const r = await undoEntry(agents(asked), {
      id: ID,
      dryRun: true,
      yes: false,
      report: (s, n, w) => lines.push(`${s} ${n} ${w}`),
    });
    expect(r).toMatchObject({ node: 'b', dryRun: true, undone: [] });
    expect(lines).toContain('would b undo rows-take (2026-01-01T00:00:00Z): backed up 2 rows of public.v_domains');
    expect(lines.at(-1)).toBe('note b dry run: nothing was changed');
    expect(asked.some((a) => a.includes('journal.undo'))).toBe(false);
  });

  it('without --yes and no terminal it refuses; with --yes it undoes on that node', async () => {
    const asked: string[] = [];
    const o = { id: ID, dryRun: false, report: () => undefined };
    await expect(undoEntry(agents(asked), { ...o, yes: false })).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    await expect(undoEntry(agents(asked), { ...o, yes: false, confirm: async () => false })).rejects.toThrow(
      'was not confirmed',
    );
    expect(asked.some((a) => a.includes('journal.undo'))).toBe(false);
    const r = await undoEntry(agents(asked), { ...o, yes: true });
    expect(r.undone).toEqual(['restored 2 rows of public.v_domains on b']);
    expect(asked.at(-1)).toBe(`peer:journal.undo ${ID}`);
  });

  it("a change only the peer's operator may undo says where to run it", async () => {
    const err = await undoEntry(agents([], true), { id: ID, dryRun: false, yes: true, report: () => undefined }).catch(
      (e: unknown) => e as PgduplexError,
    );
    expect(err).toMatchObject({ code: 'PEER_NOT_ALLOWED', hint: `run pgduplex undo ${ID} on b itself` });
  });
});

describe('pgduplex undo from the real CLI entry', () => {
  it('a mistyped id is a usage error (exit 2) before any agent is asked, with no stack trace', async () => {
    const r = await execa('npx', ['tsx', 'coordinator/bin.ts', '--socket', '/nonexistent.sock', 'undo', 'latest'], {
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('"latest" is not a journal entry id');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
