import { PgduplexError, toPgduplexError, type ErrorCode } from '../../shared/errors.js';

/** Errors that ask the operator to decide or fix the input; they say so themselves and are left alone. */
const REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_PARAMS',
  'REFUSED',
  'NOT_CONFIRMED',
  'USAGE',
  'NOT_PAIRED',
  'VERSION_MISMATCH',
  'FOREIGN_REPLICATION',
]);
const resume = (command: string) => `re-run pgduplex ${command}: finished steps are found done and skipped`;
const named = new WeakSet<PgduplexError>();

const HINTS: Partial<Record<ErrorCode, string>> = {
  AGENT_UNREACHABLE: 'check that pgduplex-agent runs on both nodes and that they reach each other (pgduplex peers)',
  TIMEOUT: 'check the network between the two nodes (pgduplex peers)',
  PG_UNREACHABLE: 'check that PostgreSQL runs on both nodes (systemctl status postgresql)',
  PG_QUERY_FAILED: 'check that PostgreSQL runs on both nodes (systemctl status postgresql)',
};

/** A failure half-way through setup, naming the step and what to do; an error already named passes unchanged. */
export function stoppedAt(step: string, err: unknown, command = 'setup'): PgduplexError {
  const e = toPgduplexError(err);
  if (named.has(e) || REFUSALS.has(e.code)) return e;
  const first = e.hint ?? HINTS[e.code];
  const again = resume(command);
  const hint = first === undefined ? again : /\bre-run\b|\bretry\b/.test(first) ? first : `${first}; then ${again}`;
  const out = new PgduplexError(e.code, `${command} stopped at ${step}: ${e.message}`, { hint, cause: e });
  named.add(out);
  return out;
}

/** Runs one step of setup so that its failure says which step it was. */
export async function atStep<T>(step: string, run: () => Promise<T>, command = 'setup'): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw stoppedAt(step, err, command);
  }
}
