import type { SchemaModel, TableModel } from '../../shared/protocol/migrate.js';

/** How a new table will replicate its UPDATEs and DELETEs: its key, a unique index, FULL, or not at all. */
export type IdentityChoice =
  { table: string; kind: 'key' } | { table: string; kind: 'index'; index: string } | { table: string; kind: 'none' };

const splitNames = (list: string): string[] =>
  list.split(', ').map((n) => (n.startsWith('"') ? n.slice(1, -1).replace(/""/g, '"') : n));

/** The plain columns a unique constraint or index covers; undefined for an expression or a partial index. */
export function uniqueColumns(def: string): string[] | undefined {
  const m =
    /^UNIQUE (?:NULLS NOT DISTINCT )?\(([^()]+)\)$/.exec(def) ??
    /^CREATE UNIQUE INDEX .* USING \w+ \(([^()]+)\)$/.exec(def);
  return m ? splitNames(m[1]!) : undefined;
}

/**
 * The replica identity a table can have as it is: its primary key or one it already has, else the first unique index
 * (or constraint) over NOT NULL columns, by name; else none (the operator's remedy decides).
 */
export function identityFor(model: SchemaModel, t: TableModel): IdentityChoice {
  const own = model.constraints.filter((k) => k.table === t.name);
  if (own.some((k) => k.type === 'p') || t.replicaIdentity === 'f' || t.replicaIdentity === 'i')
    return { table: t.name, kind: 'key' };
  const notNull = new Set(t.columns.filter((c) => c.notNull).map((c) => c.name));
  const candidates = [
    ...own.filter((k) => k.type === 'u').map((k) => ({ index: k.name, def: k.def })),
    ...model.indexes.filter((i) => i.table === t.name).map((i) => ({ index: i.name, def: i.def })),
  ].sort((a, b) => a.index.localeCompare(b.index));
  for (const c of candidates) {
    const cols = uniqueColumns(c.def);
    if (cols && cols.length > 0 && cols.every((x) => notNull.has(x)))
      return { table: t.name, kind: 'index', index: c.index };
  }
  return { table: t.name, kind: 'none' };
}
