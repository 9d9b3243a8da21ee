import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActionContext } from '../../../shared/channel/rpc.js';
import type { AgentServices } from '../../../agent/actions/context.js';
import { verifiedHandlers } from '../../../agent/actions/verified.js';
import { Journal } from '../../../agent/state/journal.js';

let dir: string;
let journal: Journal;
const ctx = {} as ActionContext;
const handlers = () => {
  const [get, set] = verifiedHandlers({ journal } as AgentServices);
  return {
    get: (database: string) => get!.run({ database }, ctx),
    set: (database: string) => set!.run({ database }, ctx),
  };
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-verified-'));
  journal = Journal.in(dir);
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('verified.get / verified.set', () => {
  it('knows no compare until one is recorded, then holds it only until the journal moves', async () => {
    const v = handlers();
    await journal.record('backup', ['b1'], { id: 'b1' });
    expect(await v.get('fusionpbx')).toEqual({ verifiedAt: null, current: false });
    const { verifiedAt } = await v.set('fusionpbx');
    expect(await v.get('fusionpbx')).toEqual({ verifiedAt, current: true });
    expect(await v.get('other')).toEqual({ verifiedAt: null, current: false });
    expect(((await stat(join(dir, 'verified.json'))).mode & 0o777).toString(8)).toBe('600');

    await journal.make('firewall', ['allow x'], {}, async () => undefined);
    expect(await v.get('fusionpbx')).toEqual({ verifiedAt, current: false });
    await v.set('fusionpbx');
    const [entry] = await journal.list();
    await journal.markUndone(entry!.id);
    expect((await v.get('fusionpbx')).current).toBe(false);
  });

  it('counts an empty journal as a state too', async () => {
    const v = handlers();
    await v.set('fusionpbx');
    expect((await v.get('fusionpbx')).current).toBe(true);
    await journal.record('backup', ['b1'], { id: 'b1' });
    expect((await v.get('fusionpbx')).current).toBe(false);
  });
});
