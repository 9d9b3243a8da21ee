import { join } from 'node:path';
import { watchStateSchema, type WatchState } from '../../shared/protocol/watch.js';
import { readPrivateJson, writePrivateJson } from './private-files.js';

/**
 * The divergence watch's results on this node (`watch.json` in the state dir, root 0600): held in memory so /metrics
 * reads no file, written through on every round. A file this version cannot read is set aside as no state.
 */
export class WatchStore {
  private constructor(
    private readonly path: string,
    private state: WatchState | null,
  ) {}

  /** Loads the state file; absent or unreadable is no state yet (the next round starts a new pass). */
  static async load(stateDir: string): Promise<WatchStore> {
    const path = join(stateDir, 'watch.json');
    const raw = await readPrivateJson(path).catch(() => undefined);
    const parsed = watchStateSchema.safeParse(raw);
    return new WatchStore(path, parsed.success ? parsed.data : null);
  }

  /** The last recorded state, or null. */
  get(): WatchState | null {
    return this.state;
  }

  /** Records a round's state, on disk first. */
  async set(state: WatchState): Promise<void> {
    await writePrivateJson(this.path, state);
    this.state = state;
  }
}
