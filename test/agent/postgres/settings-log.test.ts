import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logSize, readLogSince, startFailureLines } from '../../../agent/postgres/settings-log.js';

const P = '2025-06-01 10:00:00.000 UTC';
const failedRestart = [
  `${P} [100] LOG:  received fast shutdown request`,
  `${P} [100] LOG:  database system is shut down`,
  `${P} [200] LOG:  starting PostgreSQL 17.5 (Debian 17.5-1) on x86_64-pc-linux-gnu`,
  `${P} [200] LOG:  could not bind IPv4 address "192.0.2.1": Cannot assign requested address`,
  `${P} [200] HINT:  Is another postmaster already running on port 5432? If not, wait a few seconds and retry.`,
  `${P} [200] WARNING:  could not create listen socket for "192.0.2.1"`,
  `${P} [200] FATAL:  could not create any TCP/IP sockets`,
  `${P} [200] LOG:  database system is shut down`,
  'pg_ctl: could not start server',
  '',
].join('\n');

describe('startFailureLines', () => {
  it('keeps the lines of the last start, errors first, in log order', () => {
    expect(startFailureLines(failedRestart)).toEqual(failedRestart.split('\n').slice(2, 8));
    expect(startFailureLines(failedRestart, 3)).toEqual(failedRestart.split('\n').slice(4, 7));
    expect(startFailureLines(failedRestart, 4)).toEqual(failedRestart.split('\n').slice(4, 8));
  });

  it('cuts long lines and copes with no log at all', () => {
    expect(startFailureLines(`${P} [1] FATAL:  ${'x'.repeat(500)}`, 10, 50)[0]).toHaveLength(50);
    expect(startFailureLines('')).toEqual([]);
  });
});

describe('reading what a start appended', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads from the offset, or from the start of a rotated file, and a missing file is empty', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgdx-log-'));
    const log = join(dir, 'postgresql-17-main.log');
    expect(await logSize(log)).toBe(0);
    expect(await readLogSince(log, 0)).toBe('');
    await writeFile(log, 'old line\n');
    const offset = await logSize(log);
    await appendFile(log, 'new line\n');
    expect(await readLogSince(log, offset)).toBe('new line\n');
    await writeFile(log, 'rotated\n');
    expect(await readLogSince(log, offset + 100)).toBe('rotated\n');
  });
});
