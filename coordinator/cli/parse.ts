import { validateSetting } from '../../shared/protocol/settings-spec.js';
import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError } from 'commander';
import { PgduplexError } from '../../shared/errors.js';
import { walKeepBytes } from '../setup/steps.js';

/** What every command needs from the program: the agent's socket, and where its exit code goes. */
export interface CommandContext {
  socket: () => string;
  setExit: (code: number) => void;
}

/** A whole number option within bounds. */
export function parseWhole(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
  return n;
}

/** Reads the token from stdin, so it need not appear in the process list or shell history. */
export async function readStdinToken(): Promise<string> {
  if (process.stdin.isTTY === true) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const line = (await rl.question('Paste the token "pgduplex pair --accept" printed: ')).trim();
      if (line === '') throw usage('no token given');
      return line;
    } finally {
      rl.close();
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (chunks.reduce((n, c) => n + c.length, 0) > 1024) break;
  }
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (token === '') throw usage('no token on stdin');
  return token;
}

/** A TCP port option. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('must be a port number between 1 and 65535');
  return n;
}

/** A max_slot_wal_keep_size option: MB, GB or TB, at least one WAL segment. */
export function parseWalKeep(value: string): string {
  if (walKeepBytes(value) === undefined)
    throw new InvalidArgumentError('must be a size in MB, GB or TB such as 512MB or 10GB, at least 16MB');
  return value;
}

/** Why: idle_replication_slot_timeout as PostgreSQL reads it (30min, 2h, 1d); 0 is off, the default. */
export function parseIdleSlotTimeout(value: string): string {
  const checked = validateSetting('idle_replication_slot_timeout', value);
  if (!checked.ok) throw new InvalidArgumentError('must be a time such as 30min, 12h or 2d (0: never)');
  return checked.value;
}

/** A usage error of `pair`, with where to read more. */
export function usage(message: string): PgduplexError {
  return new PgduplexError('USAGE', message, { hint: 'see "pgduplex pair --help"' });
}
