import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../shared/version.js';

// Runs the real CLI entry in a child process, as an operator would.
const cli = (args: string[]) =>
  execa('npx', ['tsx', 'coordinator/bin.ts', ...args], { reject: false, stdin: 'ignore' });

/** Each call exits 2 with its message on stderr and no stack trace. */
async function usageErrors(prefix: string[], cases: Array<[string[], string]>): Promise<void> {
  for (const [args, message] of cases) {
    const r = await cli([...prefix, ...args]);
    expect(r.exitCode, args.join(' ')).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pgduplex CLI', () => {
  it('prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(VERSION);
  });

  it('lists only commands that exist', async () => {
    const r = await cli(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('health');
  });

  it('rejects a wrong flag with usage exit code 2 and no stack trace', async () => {
    const r = await cli(['health', '--jsn']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '--jsn'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects a mistyped token before contacting anyone', async () => {
    const r = await execa(
      'npx',
      ['tsx', 'coordinator/bin.ts', '--socket', join(dir, 'absent.sock'), 'pair', '10.0.0.2', '-'],
      { reject: false, input: 'PGDX1-NOPE\n' },
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('that is not a valid pairing token');
  });

  // On argv the token shows in /proc/*/cmdline to every local user until the pairing is done.
  it('refuses a token on the command line, saying to give it on stdin', async () => {
    const r = await cli(['--socket', join(dir, 'absent.sock'), 'pair', '10.0.0.2', 'PGDX1-AAAA']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the token does not go on the command line');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses pair --accept without a terminal unless the joiner's fingerprint is given", async () => {
    const r = await cli(['--socket', join(dir, 'absent.sock'), 'pair', '--accept', '10.0.0.1']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('give its fingerprint: pgduplex pair --accept 10.0.0.1 --fingerprint FP');
  });

  it('says how to call pair when its arguments are missing', async () => {
    const r = await cli(['pair', '10.0.0.2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('pair needs "--accept <address>"');
  });

  it('refuses a --max-slot-wal-keep-size that is not a size of at least 16MB before contacting anyone', async () => {
    for (const bad of ['5MB', '-1', '10gb', '1.5GB', '64']) {
      const r = await cli(['--socket', join(dir, 'absent.sock'), 'setup', '--max-slot-wal-keep-size', bad]);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toContain(
        `argument '${bad}' is invalid. must be a size in MB, GB or TB such as 512MB or 10GB, at least 16MB`,
      );
    }
    // Five CLI starts through tsx: slow on a loaded machine, and only the answers are asserted.
  }, 90_000);

  it('says the agent is not running and what to do', async () => {
    const r = await cli(['--socket', join(dir, 'absent.sock'), 'health']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('is not running (no socket)');
    expect(r.stderr).toContain('systemctl start pgduplex-agent');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('says how to call migrate when its command or flags are wrong, before contacting anyone', async () => {
    const sock = ['--socket', join(dir, 'absent.sock')];
    const cases: Array<[string[], string]> = [
      [['migrate'], 'name the migration to run after --, or pass --sync-schema'],
      [['migrate', '--sync-schema', '--', 'php', 'artisan', 'migrate'], '--sync-schema takes no command'],
      [['migrate', '--from', 'a', '--', '/bin/true'], '--from goes with --sync-schema'],
      [['migrate', 'php', 'artisan', 'migrate', '--force'], "unknown option '--force'"],
    ];
    await usageErrors([...sock], cases);
    // Four CLI starts through tsx: slow on a loaded machine, and only the answers are asserted.
  }, 90_000);

  it('says how to call pg-upgrade when its flags are wrong, before contacting anyone', async () => {
    const sock = ['--socket', join(dir, 'absent.sock')];
    const cases: Array<[string[], string]> = [
      [['pg-upgrade'], 'name the major to upgrade to with --to, e.g. --to 18'],
      [['pg-upgrade', '--to', '15'], '--to must be a PostgreSQL major of 16 or newer'],
      [['pg-upgrade', '--finish', '--recreate-replication'], '--finish takes no --link, --replace-empty or'],
    ];
    await usageErrors([...sock], cases);
  }, 90_000);
});
