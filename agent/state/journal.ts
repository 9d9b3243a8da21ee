import { randomUUID } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';

const entrySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('change'), id: z.string(), at: z.string(), action: z.string(), changes: z.array(z.string()), undo: z.unknown() }),
  z.strictObject({ type: z.literal('undone'), id: z.string(), at: z.string(), of: z.string() }),
]);

/** One journaled change: what an action did, in words, and the data that reverses it. */
export interface JournalChange {
  id: string;
  at: string;
  action: string;
  changes: string[];
  undo: unknown;
  undone: boolean;
}

/**
 * The agent's append-only journal (journal.jsonl, 0600): every change an action makes, with what it
 * takes to undo it. Lines are fsynced before the action reports success; undoing appends, never edits.
 * Undo data must never hold a secret.
 */
export class Journal {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  static in(stateDir: string): Journal {
    return new Journal(join(stateDir, 'journal.jsonl'));
  }

  /** Records a change and returns its id. */
  record(action: string, changes: string[], undo: unknown): Promise<string> {
    const id = randomUUID();
    return this.append({ type: 'change', id, at: new Date().toISOString(), action, changes, undo }).then(() => id);
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
      if (!parsed.success) throw new PgduplexError('CONFIG_INVALID', `${this.path} line ${i + 1} is damaged`, { hint: 'restore it from a backup; the agent never rewrites it' });
      const e = parsed.data;
      if (e.type === 'change') changes.set(e.id, { id: e.id, at: e.at, action: e.action, changes: e.changes, undo: e.undo, undone: false });
      else {
        const c = changes.get(e.of);
        if (c) c.undone = true;
      }
    }
    return [...changes.values()];
  }

  async get(id: string): Promise<JournalChange> {
    const hit = (await this.list()).find((c) => c.id === id);
    if (!hit) throw new PgduplexError('NOT_FOUND', `no journal entry ${JSON.stringify(id.slice(0, 64))}`, { hint: 'list them with journal.list' });
    return hit;
  }

  private append(entry: z.infer<typeof entrySchema>): Promise<void> {
    const write = this.tail.catch(() => undefined).then(async () => {
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

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
