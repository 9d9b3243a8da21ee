import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentServices } from '../../../agent/actions/context.js';
import { writeManifest, type Manifest } from '../../../agent/backup/manifest.js';
import { peerBackupDecision } from '../../../agent/backup/peer-rate.js';
import { Journal, type ChangeOrigin } from '../../../agent/state/journal.js';

// What limits.peerBackupIntervalMs lets the peer have; the reuse of a backup (it reads PostgreSQL's statistics) is
// proven in the lab (test/agent/peer-policy.lab.test.ts).
const MIN = 60_000;
let dir: string;
let s: AgentServices;
const peer: ChangeOrigin = { origin: 'peer', peer: 'ABCDEFGHIJKLMNOPQRST' };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-peer-rate-'));
  const backupRoot = join(dir, 'backups');
  await mkdir(backupRoot);
  s = {
    journal: Journal.in(dir),
    backupRoot,
    postgresql: { version: '99', cluster: 'none' },
    limits: { toolTimeoutMs: 1000, peerBackupIntervalMs: 10 * MIN },
  } as unknown as AgentServices;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A complete backup as the backup action leaves it: journaled (by whom) and on disk with its manifest. */
async function backup(id: string, database: string, by: ChangeOrigin, extra: Partial<Manifest> = {}) {
  await s.journal.make('backup', [`dump ${database}`], { id }, async () => undefined, by);
  const at = join(s.backupRoot, id);
  await mkdir(at);
  await writeManifest(at, {
    version: 1,
    id,
    createdAt: new Date().toISOString(),
    cluster: '17/main',
    serverVersion: '17.6',
    database,
    file: `${database}.dump`,
    sizeBytes: 1,
    sha256: 'x',
    durationMs: 1,
    tables: [],
    ...extra,
  });
  return at;
}

describe('peerBackupDecision', () => {
  it('lets the peer have a backup when it asked for none in the interval, and counts only its own', async () => {
    expect(await peerBackupDecision(s, { database: 'fusionpbx' })).toEqual({ kind: 'new' });
    await backup('20261203T000000000Z-fusionpbx', 'fusionpbx', { origin: 'local' });
    expect(await peerBackupDecision(s, { database: 'fusionpbx' })).toEqual({ kind: 'new' });
  });

  it('refuses a fourth backup within the interval, naming the limit and when the next is allowed', async () => {
    await backup('20261203T000000000Z-other', 'other', peer);
    const at = Date.parse((await s.journal.list())[0]!.at);
    await backup('20261203T000100000Z-fusionpbx', 'fusionpbx', peer);
    expect(await peerBackupDecision(s, { database: 'fusionpbx' }, at + 2 * MIN)).toEqual({ kind: 'new' });
    await backup('20261203T000200000Z-fusionpbx', 'fusionpbx', peer);
    const d = await peerBackupDecision(s, { database: 'fusionpbx' }, at + 2 * MIN);
    expect(d).toEqual({
      kind: 'refuse',
      why:
        `allows the peer 3 backups per 10 min, and 3 it asked for are in ${s.backupRoot} (the newest ` +
        `20261203T000200000Z-fusionpbx); the next is allowed at ${new Date(at + 10 * MIN).toISOString()}, or once ` +
        'one of them is removed',
    });
    expect(await peerBackupDecision(s, { database: 'fusionpbx' }, at + 10 * MIN + 1)).toEqual({ kind: 'new' });
    s.limits.peerBackupsPerInterval = 1;
    await rm(join(s.backupRoot, '20261203T000200000Z-fusionpbx'), { recursive: true });
    expect(await peerBackupDecision(s, { database: 'fusionpbx' }, at + 2 * MIN)).toMatchObject({ kind: 'refuse' });
  });

  it("does not count a backup this node's operator removed, nor any when the limit is 0", async () => {
    const at = await backup('20261203T000000000Z-other', 'other', peer);
    s.limits.peerBackupIntervalMs = 0;
    expect(await peerBackupDecision(s, { database: 'fusionpbx' })).toEqual({ kind: 'new' });
    s.limits.peerBackupIntervalMs = 10 * MIN;
    await rm(at, { recursive: true });
    expect(await peerBackupDecision(s, { database: 'fusionpbx' })).toEqual({ kind: 'new' });
  });
});
