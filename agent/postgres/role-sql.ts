// The SQL around the replication role that carries a secret or a catalog name: kept out of logs, quoted right.
import { PgduplexError } from '../../shared/errors.js';

/**
 * Session settings that keep the statement carrying the verifier out of the server log, statement
 * statistics and pg_stat_activity, even when the cluster logs every statement.
 */
export const QUIET = `SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_duration_sample = -1;
SET log_transaction_sample_rate = 0;
SET log_min_error_statement = 'panic';
SET debug_print_parse = off;
SET debug_print_rewritten = off;
SET debug_print_plan = off;
SET track_activities = off;
SET pg_stat_statements.track_utility = off;
`;

/** Revokes what else the role holds in one schema, so the role pgduplex created can be dropped. */
export const REVOKE_REST_SQL =
  `select format('REVOKE ALL ON ALL TABLES IN SCHEMA %1$I FROM %2$I; ` +
  `REVOKE ALL ON ALL SEQUENCES IN SCHEMA %1$I FROM %2$I; REVOKE ALL ON SCHEMA %1$I FROM %2$I', :'schema', :'role')
  where exists (select from pg_namespace where nspname = :'schema') \\gexec
`;

/** A SQL string literal for a catalog name (standard_conforming_strings is on since PostgreSQL 9.1). */
export function sqlText(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Removes any secret a failed psql run might have echoed before the error leaves the agent. */
export function scrub(err: unknown, secrets: Array<string | undefined>): PgduplexError {
  const e =
    err instanceof PgduplexError ? err : new PgduplexError('PG_QUERY_FAILED', 'setting the role password failed');
  const clean = (s: string) => {
    let out = s;
    for (const x of secrets) if (x) out = out.split(x).join('[redacted]');
    return out.replace(/SCRAM-SHA-256\$\S+/g, '[redacted]');
  };
  return new PgduplexError(e.code, clean(e.message), e.hint === undefined ? {} : { hint: clean(e.hint) });
}
