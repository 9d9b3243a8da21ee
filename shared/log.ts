import { pino, type Logger, type LevelWithSilent } from 'pino';

/** Paths whose values are replaced before any log line is written; configured once, here. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'passfile',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'secretKey',
  '*.secretKey',
  'privateKey',
  '*.privateKey',
  'req.headers.authorization',
  'req.headers.cookie',
] as const;

/** Builds the root logger: JSON lines on stdout (journald keeps them), secrets redacted. */
export function createLogger(
  name: string,
  level: LevelWithSilent,
  destination: NodeJS.WritableStream = process.stdout,
): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream,
  );
}

export type { Logger };
