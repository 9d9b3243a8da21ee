/** Stable error codes: part of the wire format and of scripts' contracts, so never renamed. */
export const ERROR_CODES = [
  'USAGE',
  'CONFIG_UNREADABLE',
  'CONFIG_INVALID',
  'CLUSTER_NOT_FOUND',
  'CLUSTER_AMBIGUOUS',
  'PG_UNREACHABLE',
  'PG_QUERY_FAILED',
  'TOOL_MISSING',
  'AGENT_UNREACHABLE',
  'AGENT_BAD_RESPONSE',
  'SOCKET_IN_USE',
  'LISTEN_FAILED',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'HANDSHAKE_FAILED',
  'PROTOCOL_MISMATCH',
  'PEER_NOT_TRUSTED',
  'PEER_KEY_MISMATCH',
  'FRAME_INVALID',
  'FRAME_TOO_LARGE',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_USED',
  'PAIRING_LOCKED',
  'PAIRING_CLOSED',
  'ALREADY_PAIRED',
  'NOT_PAIRED',
  'KEY_FILE_INSECURE',
  'UNKNOWN_ACTION',
  'BAD_PARAMS',
  'REFUSED',
  'BUSY',
  'TIMEOUT',
  'FIREWALL_FAILED',
  'FIREWALL_DENIED',
  'FIREWALL_UNVERIFIED',
  'PG_HBA_INVALID',
  'PG_SETTING_OVERRIDDEN',
  'PG_CONFIG_REJECTED',
  'PG_START_FAILED',
  'EXTENSION_MISMATCH',
  'FILE_TAMPERED',
  'PATH_NOT_ALLOWED',
  'REPLICATION_BROKEN',
  'NOT_CONFIRMED',
  'PEER_NOT_ALLOWED',
  // Raised by the CLI only, never sent by an agent: a 0.1.0 agent's frame schema does not know it.
  'VERSION_MISMATCH',
  'FOREIGN_REPLICATION',
  'JOURNAL_UNWRITABLE',
  'JOURNAL_UNREADABLE',
  'CHANGE_NOT_VERIFIED',
  // Raised by the CLI only: the two databases differ where they must be equal (setup --adopt's preflight).
  'PAIR_DIFFERS',
  // Raised by the CLI only: migrate found the pair without replication, or the operator's command failed.
  'NOT_SET_UP',
  'COMMAND_FAILED',
  'ROWS_CHANGED',
  // pg_upgradecluster failed; the old cluster was brought back.
  'PG_UPGRADE_FAILED',
  'INTERNAL',
] as const;

/** One stable SCREAMING_SNAKE code per failure kind. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The JSON form of an error that crosses the wire: no stack, no cause chain, no secrets. */
export interface ErrorJSON {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** The project's one error type: a code for machines, a sentence for people, a hint for what to do. */
export class PgduplexError extends Error {
  override readonly name = 'PgduplexError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  toJSON(): ErrorJSON {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }

  /** Rebuilds an error received from the wire; an unknown code becomes INTERNAL rather than trusted. */
  static fromJSON(value: unknown): PgduplexError {
    if (typeof value === 'object' && value !== null) {
      const { code, message, hint } = value as Record<string, unknown>;
      const h = typeof hint === 'string' ? { hint } : {};
      if (typeof message === 'string' && isErrorCode(code)) return new PgduplexError(code, message, h);
      // A code a newer pgduplex added: the words still say what happened.
      if (typeof message === 'string' && typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) {
        return new PgduplexError('INTERNAL', `${message} (${code}, from a newer pgduplex)`, h);
      }
    }
    return new PgduplexError('INTERNAL', 'malformed error received from the agent');
  }
}

/** Narrows an unknown value to a known code, so foreign codes never pass as ours. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Wraps anything thrown into a PgduplexError so callers handle one type. */
export function toPgduplexError(err: unknown): PgduplexError {
  if (err instanceof PgduplexError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PgduplexError('INTERNAL', message, { cause: err });
}
