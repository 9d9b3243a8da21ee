/** Quotes any identifier for SQL (catalog names can contain anything, including quotes and newlines). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A psql `\set` line for a value used as `:'name'` or `:"name"` in the SQL that follows, so psql does
 * the quoting; only plain values (names, base64, digits, `$:+/=.-`) are accepted.
 */
export function psqlSet(name: string, value: string): string {
  if (!/^[a-z_]+$/.test(name) || !/^[A-Za-z0-9_$:+/=.-]*$/.test(value))
    throw new Error(`psqlSet: refusing to pass ${name}`);
  return `\\set ${name} '${value}'\n`;
}
