import type { ReplicationLogError } from '../../shared/replication.js';

/** A command that repairs a problem: where to run it, what it is, and what it costs. */
export interface Remedy {
  node: string;
  command: string;
  effect: string;
}

/** The origin under which a local-only repair runs: subscriptions with origin = none never receive such changes. */
export const LOCAL_ORIGIN = 'pgduplex_local';

/** An SQL identifier, always double-quoted (inner quotes doubled): a keyword or odd name from a log stays one name. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** An SQL string literal, right whatever standard_conforming_strings says (E'' with doubled backslashes). */
export const quoteLiteral = (value: string): string =>
  value.includes('\\') ? `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${value.replace(/'/g, "''")}'`;

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Quotes one shell word for bash: double quotes (\" inside) when nothing else in it is special there, else single. */
export function shellArg(s: string): string {
  return /^[^$`\\!]*$/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command a root operator runs on a node to execute SQL in the replicated database. */
export function psqlCommand(database: string, sql: string): string {
  return `runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -d ${database} -c ${shellArg(sql)}`;
}

/**
 * `(a, "B c")=(1, x)` from a DETAIL line as column/value pairs, the columns unquoted as PostgreSQL's
 * quote_identifier printed them; a sentence saying why when it cannot be split unambiguously (a `)=(`
 * inside the key, a column that is an expression, a value holding ", " beside other columns).
 */
export function parseKey(key: string): Array<[string, string]> | string {
  if (CONTROL.test(key)) return 'the key holds control characters';
  const separators = key.split(')=(').length - 1;
  if (separators > 1) return 'the key holds ")=(" inside it, so its columns and values cannot be told apart';
  const m = /^\((.*)\)=\((.*)\)$/s.exec(key);
  if (!m || separators === 0) return 'the key is not of the form (columns)=(values)';
  const cols = columnNames(m[1] ?? '');
  if (typeof cols === 'string') return cols;
  const vals = cols.length === 1 ? [m[2] ?? ''] : (m[2] ?? '').split(', ');
  if (cols.length !== vals.length) return 'a value holds ", ", so the values cannot be matched to the columns';
  return cols.map((c, i) => [c, vals[i] ?? '']);
}

/** `a, "B c"` as names: bare lower-case names or double-quoted ones with "" inside; anything else is refused. */
function columnNames(text: string): string[] | string {
  const names: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let name = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return 'a quoted column name in the key is not closed';
        name += text.slice(j, q);
        if (text[q + 1] !== '"') {
          i = q + 1;
          break;
        }
        name += '"';
        j = q + 2;
      }
      names.push(name);
    } else {
      const bare = /^[a-z_][a-z0-9_$]*/.exec(text.slice(i))?.[0];
      if (bare === undefined) return `the key's columns are not plain column names (an expression index?)`;
      names.push(bare);
      i += bare.length;
    }
    if (i === text.length) return names;
    if (!text.startsWith(', ', i)) return `the key's columns are not plain column names (an expression index?)`;
    i += 2;
  }
}

/** `public.jobs` (as the server log prints it, unquoted) as a quoted qualified name; undefined when ambiguous. */
const qualified = (table: string): string | undefined => {
  const parts = table.split('.');
  return parts.length === 2 && !CONTROL.test(table) ? parts.map(quoteIdent).join('.') : undefined;
};

/** What conflictRemedies offers, and why it leaves out the row repair when it cannot write one safely. */
export interface ConflictRemedies {
  remedies: Remedy[];
  /** Why no command deletes the conflicting row: the key or table read from the log is ambiguous. */
  refused?: string;
}

const UNIQUE =
  /duplicate key value violates unique constraint|conflict=(insert_exists|update_exists|multiple_unique_conflicts)/;

/**
 * The two ways out of an apply error on `on` (the subscriber) for a transaction from `from`: skip the
 * transaction there, or, for a unique key conflict, remove the local row without sending that delete
 * back, so the peer's row arrives.
 */
export function conflictRemedies(
  err: ReplicationLogError & { finishLsn: string },
  subscription: string,
  database: string,
  on: string,
  from: string,
): ConflictRemedies {
  if (!LSN.test(err.finishLsn))
    return {
      remedies: [],
      refused: `no repair command: the finish LSN ${JSON.stringify(err.finishLsn)} is not an LSN`,
    };
  const skip: Remedy = {
    node: on,
    command: psqlCommand(database, `ALTER SUBSCRIPTION ${quoteIdent(subscription)} SKIP (lsn = '${err.finishLsn}')`),
    effect:
      `${on} skips ${from}'s whole transaction (finished at ${err.finishLsn}) and keeps its own row: that ` +
      `transaction's changes never reach ${on}; check with "pgduplex verify" afterwards`,
  };
  if (!err.table || !err.key || !UNIQUE.test(err.message)) return { remedies: [skip] };
  const pairs = parseKey(err.key);
  const table = qualified(err.table);
  if (typeof pairs === 'string' || table === undefined) {
    const why = typeof pairs === 'string' ? pairs : `the table name ${JSON.stringify(err.table)} is ambiguous`;
    return { remedies: [skip], refused: `no command to delete ${on}'s conflicting row is offered: ${why}` };
  }
  const where = pairs.map(([c, v]) => `${quoteIdent(c)} = ${quoteLiteral(v)}`).join(' AND ');
  const sql =
    `SELECT pg_replication_origin_create('${LOCAL_ORIGIN}') WHERE NOT EXISTS (SELECT FROM ` +
    `pg_replication_origin WHERE roname = '${LOCAL_ORIGIN}'); SELECT ` +
    `pg_replication_origin_session_setup('${LOCAL_ORIGIN}'); DELETE FROM ${table} WHERE ${where}`;
  const fix: Remedy = {
    node: on,
    command: psqlCommand(database, sql),
    effect:
      `${on} deletes its own row ${err.key} in ${err.table} without sending the delete to ${from}; ${from}'s ` +
      `transaction then applies, so ${on} gets ${from}'s row`,
  };
  return { remedies: [skip, fix] };
}
