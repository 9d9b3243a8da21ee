import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentServices } from '../../../agent/actions/context.js';
import { peerGate } from '../../../agent/peer/peer-gate.js';
import { Journal } from '../../../agent/state/journal.js';
import type { ActionContext } from '../../../shared/channel/rpc.js';
import { journalUndoAction } from '../../../shared/protocol/journal.js';

// journal.undo from the peer: only entries its own calls made (origin and fingerprint), only what teardown undoes.
const PEER = 'ABCDEFGHIJKLMNOPQRST';
let dir: string;
let journal: Journal;
let gate: ReturnType<typeof peerGate>;
const ctx = { origin: 'peer', progress: () => undefined } as ActionContext;
const undo = (id: string) => gate(journalUndoAction, { id }, ctx);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-gate-'));
  journal = Journal.in(dir);
  const s = {
    node: 'b',
    trust: { peer: { node: 'a', address: '10.0.0.1', fingerprint: PEER } },
    journal,
    postgresql: { version: '99', cluster: 'none' },
    pair: { databases: ['fusionpbx'], schemas: ['public'] },
    limits: { toolTimeoutMs: 1000 },
  } as unknown as AgentServices;
  gate = peerGate(s);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const made = async (action: string, by?: Parameters<Journal['make']>[4]) =>
  (await journal.make(action, [`${action} change`], {}, async () => undefined, by)).journalId;

describe('the peer gate on journal.undo', () => {
  it('lets the peer undo what its own calls made, and an entry older agents wrote without an origin', async () => {
    await expect(undo(await made('pg-hba', { origin: 'peer', peer: PEER }))).resolves.toBeUndefined();
    await expect(undo(await made('firewall', { origin: 'peer' }))).resolves.toBeUndefined();
    await expect(undo(await made('pg-settings'))).resolves.toBeUndefined();
  });

  it("refuses an entry this node's operator made, naming it", async () => {
    const id = await made('pg-hba', { origin: 'local' });
    await expect(undo(id)).rejects.toMatchObject({
      code: 'PEER_NOT_ALLOWED',
      message: `b does not let its peer ask journal.undo: id entry ${id} (pg-hba) was made by b's own operator, not by the peer`,
    });
  });

  it('refuses an entry another peer (an earlier pairing) made', async () => {
    const id = await made('publication', { origin: 'peer', peer: 'QRSTABCDEFGHIJKLMNOP' });
    await expect(undo(id)).rejects.toMatchObject({
      code: 'PEER_NOT_ALLOWED',
      message: expect.stringContaining('was made by another peer (QRSTABCDEFGHIJKLMNOP)'),
    });
  });

  it('refuses what teardown keeps, even when the peer asked for it', async () => {
    const id = await journal.record('backup', ['backup b1'], { id: 'b1' }, { origin: 'peer', peer: PEER });
    await expect(undo(id)).rejects.toMatchObject({
      code: 'PEER_NOT_ALLOWED',
      message: expect.stringContaining('is kept by teardown'),
    });
  });
});
