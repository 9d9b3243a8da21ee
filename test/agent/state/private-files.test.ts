import { chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir, readPrivateJson, writePrivateJson } from '../../../agent/state/private-files.js';
import { PgduplexError } from '../../../shared/errors.js';

// The agent's own state (identity key, trust store, pairing window): root's, 0600/0700, never reached through a link.
const root = process.getuid?.() === 0;
let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-private-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const code = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as PgduplexError).code;

describe('private state files', () => {
  it('round-trips JSON as a 0600 file', async () => {
    await writePrivateJson(join(dir, 'trust.json'), { version: 1 });
    expect(await readPrivateJson(join(dir, 'trust.json'))).toEqual({ version: 1 });
    expect(await readPrivateJson(join(dir, 'absent.json'))).toBeUndefined();
  });

  it('refuses a state file that is a symlink, or readable by others', async () => {
    await writeFile(join(dir, 'elsewhere.json'), '{}', { mode: 0o600 });
    await symlink(join(dir, 'elsewhere.json'), join(dir, 'identity.json'));
    expect(await code(readPrivateJson(join(dir, 'identity.json')))).toBe('KEY_FILE_INSECURE');
    await writeFile(join(dir, 'open.json'), '{}', { mode: 0o644 });
    expect(await code(readPrivateJson(join(dir, 'open.json')))).toBe('KEY_FILE_INSECURE');
  });

  it.runIf(root)('refuses a state file or directory owned by another user', async () => {
    await writeFile(join(dir, 'identity.json'), '{}', { mode: 0o600 });
    await chown(join(dir, 'identity.json'), 65534, 65534);
    expect(await code(readPrivateJson(join(dir, 'identity.json')))).toBe('KEY_FILE_INSECURE');
    await mkdir(join(dir, 'state'), { mode: 0o700 });
    await chown(join(dir, 'state'), 65534, 65534);
    expect(await code(ensurePrivateDir(join(dir, 'state')))).toBe('KEY_FILE_INSECURE');
  });

  it('refuses a state directory that is a symlink', async () => {
    await mkdir(join(dir, 'real'), { mode: 0o700 });
    await symlink(join(dir, 'real'), join(dir, 'state'));
    expect(await code(ensurePrivateDir(join(dir, 'state')))).toBe('KEY_FILE_INSECURE');
    await ensurePrivateDir(join(dir, 'real'));
  });
});
