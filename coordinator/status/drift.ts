import type { Remedy } from './remedy.js';
import { psqlCommand, quoteIdent, shellArg } from './remedy.js';

/** An apply error that means the subscriber lacks schema the publisher has: a table, or columns of one. */
export interface SchemaDrift {
  /** `schema.table` as the server log names it. */
  table: string;
  /** The columns the subscriber's table lacks; empty when the whole table is missing. */
  columns: string[];
}

// PostgreSQL's own words (relation.c): "…is missing replicated column: "a"" (or "columns: "a", "b""), and
// "…does not exist" for a table the publisher sends rows of and the subscriber has not got.
const MISSING_COLUMNS = /^logical replication target relation "([^"]+)" is missing replicated columns?: (.+)$/;
const MISSING_TABLE = /^logical replication target relation "([^"]+)" does not exist$/;

/** The schema drift an apply error means, or undefined when it means something else (a conflict, say). */
export function schemaDrift(message: string): SchemaDrift | undefined {
  const table = MISSING_TABLE.exec(message);
  if (table) return { table: table[1]!, columns: [] };
  const cols = MISSING_COLUMNS.exec(message);
  if (!cols) return undefined;
  const names = [...cols[2]!.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
  return { table: cols[1]!, columns: names };
}

/** What the drift is, in words: the table or columns `sub` lacks, and why nothing is lost while it waits. */
export function driftProblem(d: SchemaDrift, pub: string, sub: string): string {
  const what =
    d.columns.length === 0
      ? `${sub} has no table ${d.table}`
      : `${sub}'s ${d.table} lacks the column${d.columns.length === 1 ? '' : 's'} ${d.columns.join(', ')}`;
  return (
    `schema drift: ${pub} sends changes that need its schema, and ${what}. The changes wait on ${pub} (none is ` +
    `lost while they do) until ${sub} has the same schema; skipping them would discard them, so no SKIP is offered`
  );
}

/**
 * The repair of a drift: `pgduplex migrate --sync-schema`, which carries the publisher's schema to the subscriber;
 * or by hand, the publisher's own pg_dump of that table (its columns, types, defaults and keys) applied by the
 * operator. The waiting changes then apply by themselves.
 */
export function driftRemedies(
  d: SchemaDrift,
  o: { database: string; subscription: string; pub: string; sub: string },
): Remedy[] {
  const { database, pub, sub } = o;
  const [schema = 'public', name = d.table] = d.table.split('.');
  const table = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const sync: Remedy = {
    node: pub,
    command: 'pgduplex migrate --sync-schema',
    effect:
      `carries ${pub}'s schema to ${sub} in one transaction (a new table subscribed and its rows copied once, ` +
      `volatile defaults made equal), then verifies; --dry-run first shows what it carries. Or by hand:`,
  };
  const show: Remedy = {
    node: pub,
    command: `runuser -u postgres -- pg_dump --schema-only --table=${shellArg(table)} ${database}`,
    effect:
      `prints ${pub}'s definition of ${d.table}` +
      (d.columns.length === 0
        ? `; create the table on ${sub} the same way (its CREATE TABLE, keys and indexes)`
        : `; on ${sub}, ALTER TABLE ${table} ADD COLUMN each of ${d.columns.join(', ')} as it is defined there`) +
      `, and ${sub} applies the waiting changes within seconds`,
  };
  if (d.columns.length > 0) return [sync, show];
  // A table created by hand is not in the subscription yet: its changes would be skipped silently until refreshed.
  const refresh: Remedy = {
    node: sub,
    command: psqlCommand(
      database,
      `ALTER SUBSCRIPTION ${quoteIdent(o.subscription)} REFRESH PUBLICATION WITH (copy_data = true)`,
    ),
    effect:
      `once ${sub} has the table: adds it to the subscription and copies ${pub}'s rows of it (it must be empty on ` +
      `${sub}); tables the subscription has already are not copied again`,
  };
  return [sync, show, refresh];
}
