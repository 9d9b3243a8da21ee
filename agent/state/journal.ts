import { randomUUID } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';

const mark = (type: 'done' | 'aborted' | 'undone') =>
  z.strictObject({ type: z.literal(type), id: z.string(), at: z.string(), of: z.string() });
// Who caused a change: optional, so journals written before origins were recorded still load.
const byFields = { origin: z.enum(['local', 'peer']).optional(), peer: z.string().optional() };
const changeEntry = <T extends 'change' | 'intent'>(type: T) =>
  z.strictObject({
    type: z.literal(type),
    id: z.string(),
    at: z.string(),
    action: z.string(),
    changes: z.array(z.string()),
    undo: z.unknown(),
    ...byFields,
  });
const entrySchema = z.discriminatedUnion('type', [
  changeEntry('change'),
  changeEntry('intent'),
  mark('done'),
  mark('aborted'),
  mark('undone'),
]);

/**
 * Given to a change being made: runs the rollback of what it did before it failed. A rollback that
 * fails too is noted, and the entry then stays interrupted rather than aborted, so undo still reaches it.
 */
export type Rollback = (undoWhatWasDone: () => Promise<unknown>) => Promise<void>;

/**
 * Who caused a change: this node's operator (`local`, the CLI over the root-only socket) or the paired peer,
 * by its fingerprint; what the peer may later undo is decided by it.
 */
export interface ChangeOrigin {
  origin: 'local' | 'peer';
  /** The peer's fingerprint, for a peer call. */
  peer?: string;
}

/** One journaled change: what an action did, in words, and the data that reverses it. */
export interface JournalChange {
  id: string;
  at: string;
  action: string;
  changes: string[];
  undo: unknown;
  undone: boolean;
  /** Journaled before it was made, and never finished: it may be in place fully, partly or not at all. */
  interrupted: boolean;
  /** Who caused it; absent in entries an agent wrote before origins were recorded. */
  origin?: 'local' | 'peer';
  peer?: string;
}

const byOf = (by: ChangeOrigin | undefined) =>
  by ? { origin: by.origin, ...(by.origin === 'peer' && by.peer ? { peer: by.peer } : {}) } : {};

/**
 * The agent's append-only journal (journal.jsonl, 0600): every change an action makes, with what it
 * takes to undo it. Lines are fsynced before the action reports success; undoing appends, never edits.
 * Undo data must never hold a secret. Changes are written ahead (`make`), so a crash mid-change leaves
 * an interrupted entry rather than a change nobody recorded.
 */
export class Journal {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  static in(stateDir: string): Journal {
    return new Journal(join(stateDir, 'journal.jsonl'));
  }

  /** The state directory the journal lives in, for bookkeeping that is read against it. */
  get dir(): string {
    return dirname(this.path);
  }

  /** The id of the newest line (a change, or a mark on one): it moves whenever anything is changed or undone. */
  async head(): Promise<string | null> {
    await this.tail.catch(() => undefined);
    const fh = await open(this.path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!fh) return null;
    try {
      // Only the end of the file: the journal grows with every run.
      for (let want = 4096; ; want *= 4) {
        const { size } = await fh.stat();
        const from = Math.max(0, size - want);
        const buf = Buffer.alloc(size - from);
        await fh.read(buf, 0, buf.length, from);
        const lines = buf.toString('utf8').trimEnd().split('\n');
        if (from > 0 && lines.length < 2) continue;
        const last = lines.at(-1) ?? '';
        return last === '' ? null : (entrySchema.safeParse(safeJson(last)).data?.id ?? null);
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Journals a change, then makes it: a crash (kill -9, power) in between leaves the entry interrupted,
   * and its undo runs all the same, so `undo` must hold whether the change happened fully, partly or
   * not at all. A change that fails is marked aborted once `make` has rolled back what it did through
   * `rollback`; if that rollback fails, the entry stays interrupted and the error says so.
   */
  async make<T>(
    action: string,
    changes: string[],
    undo: unknown,
    make: (rollback: Rollback) => Promise<T>,
    by?: ChangeOrigin,
  ): Promise<{ journalId: string; result: T }> {
    const id = randomUUID();
    const at = new Date().toISOString();
    await this.append({ type: 'intent', id, at, action, changes, undo, ...byOf(by) }).catch((err: unknown) => {
      throw this.unwritable(err, 'nothing was changed');
    });
    let result: T;
    let rollbackError: unknown;
    const rollback: Rollback = async (fn) => {
      try {
        await fn();
      } catch (err) {
        rollbackError ??= err;
      }
    };
    try {
      result = await make(rollback);
    } catch (err) {
      if (rollbackError !== undefined) throw notRolledBack(err, rollbackError, id);
      await this.append({ type: 'aborted', id: randomUUID(), at: new Date().toISOString(), of: id }).catch(
        () => undefined,
      );
      throw err;
    }
    await this.append({ type: 'done', id: randomUUID(), at: new Date().toISOString(), of: id }).catch(
      (err: unknown) => {
        throw this.unwritable(
          err,
          `the change was made; its entry ${id} stays interrupted and its undo still covers it`,
        );
      },
    );
    return { journalId: id, result };
  }

  /** Records a change already made and returns its id: for an artifact (a backup) that is kept, not undone. */
  record(action: string, changes: string[], undo: unknown, by?: ChangeOrigin): Promise<string> {
    const id = randomUUID();
    const at = new Date().toISOString();
    return this.append({ type: 'change', id, at, action, changes, undo, ...byOf(by) }).then(() => id);
  }

  /** Marks a change as undone. */
  markUndone(of: string): Promise<void> {
    return this.append({ type: 'undone', id: randomUUID(), at: new Date().toISOString(), of });
  }

  /** Every change, oldest first, with whether it was undone. */
  async list(): Promise<JournalChange[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const changes = new Map<string, JournalChange>();
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      const parsed = entrySchema.safeParse(safeJson(line));
      if (!parsed.success)
        throw new PgduplexError('CONFIG_INVALID', `${this.path} line ${i + 1} is damaged`, {
          hint: 'restore it from a backup; the agent never rewrites it',
        });
      const e = parsed.data;
      if (e.type === 'change' || e.type === 'intent') {
        changes.set(e.id, {
          id: e.id,
          at: e.at,
          action: e.action,
          changes: e.changes,
          undo: e.undo,
          undone: false,
          interrupted: e.type === 'intent',
          ...(e.origin ? { origin: e.origin } : {}),
          ...(e.peer ? { peer: e.peer } : {}),
        });
        continue;
      }
      const c = changes.get(e.of);
      if (!c) continue;
      if (e.type === 'aborted') changes.delete(e.of);
      else if (e.type === 'done') c.interrupted = false;
      else c.undone = true;
    }
    return [...changes.values()];
  }

  async get(id: string): Promise<JournalChange> {
    const hit = (await this.list()).find((c) => c.id === id);
    if (!hit)
      throw new PgduplexError('NOT_FOUND', `no journal entry ${JSON.stringify(id.slice(0, 64))}`, {
        hint: 'list them with journal.list',
      });
    return hit;
  }

  private unwritable(err: unknown, what: string): PgduplexError {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return new PgduplexError('JOURNAL_UNWRITABLE', `cannot write the undo journal ${this.path} (${code}): ${what}`, {
      hint:
        code === 'ENOSPC'
          ? `free space on the file system of ${this.dir}, then retry`
          : `check ${this.path} (owner root, mode 0600) and its file system, then retry`,
      cause: err,
    });
  }

  private append(entry: z.infer<typeof entrySchema>): Promise<void> {
    const write = this.tail
      .catch(() => undefined)
      .then(async () => {
        const fh = await open(this.path, 'a', 0o600);
        try {
          await fh.appendFile(`${JSON.stringify(entry)}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
    this.tail = write;
    return write;
  }
}

function notRolledBack(err: unknown, rollbackError: unknown, id: string): unknown {
  if (!(err instanceof PgduplexError)) return err;
  const why = rollbackError instanceof Error ? rollbackError.message : String(rollbackError);
  return new PgduplexError(
    err.code,
    `${err.message}; rolling it back failed too (${why}), ` +
      `so journal entry ${id} stays and its undo reverses what is left`,
    {
      hint: 'pgduplex teardown undoes it; or look at the cause, then retry',
      cause: err,
    },
  );
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
