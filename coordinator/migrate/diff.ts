import type { CarriedObjects, ColumnModel, SchemaModel, TableModel } from '../../shared/protocol/migrate.js';
import { quoteIdent } from '../status/remedy.js';

/** What carrying one node's schema to the other takes: the DDL in order, and what it cannot carry. */
export interface CarryPlan {
  statements: string[];
  /** One line per operation, for the plan and the journal. */
  summary: string[];
  /** Existing tables the DDL alters or references (lent to the import role on the target). */
  lend: string[];
  /** New tables: held against the target's own writes until their rows have arrived. */
  hold: string[];
  creates: CarriedObjects;
  /** Columns each node filled with its own values of a volatile default: the source's replicate over them. */
  touch: Array<{ table: string; columns: string[] }>;
  /** NOT NULL set once the touched values have arrived (the column is added nullable). */
  notNullLater: Array<{ table: string; column: string }>;
  /** Differences not carried, each with why and what to do. */
  refused: string[];
}

const unquote = (s: string): string => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);
const REFERENCES = /REFERENCES (?:(?:\w+|"(?:[^"]|"")+")\.)?(\w+|"(?:[^"]|"")+")\(/;

/** The table a foreign key's definition references. */
export function referencedTable(def: string): string | undefined {
  const m = REFERENCES.exec(def);
  return m ? unquote(m[1]!) : undefined;
}

/** A column as CREATE TABLE or ADD COLUMN writes it; `bare` leaves out its default and NOT NULL. */
export function columnSql(c: ColumnModel, bare = false): string {
  let s = `${quoteIdent(c.name)} ${c.type}`;
  if (c.generated === 's' && c.default !== null) s += ` GENERATED ALWAYS AS (${c.default}) STORED`;
  else if (c.identity !== '') s += ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
  else if (c.default !== null && !bare) s += ` DEFAULT ${c.default}`;
  if (c.notNull && !bare) s += ' NOT NULL';
  return s;
}

function identitySql(t: TableModel): string {
  if (t.replicaIdentity === 'i' && t.identityIndex) return `USING INDEX ${quoteIdent(t.identityIndex)}`;
  return { f: 'FULL', n: 'NOTHING' }[t.replicaIdentity] ?? 'DEFAULT';
}

const byName = <T extends { name: string }>(xs: readonly T[]) => new Map(xs.map((x) => [x.name, x]));
const keyOf = (x: { table: string; name: string }) => `${x.table}\u0000${x.name}`;

/**
 * Plans the DDL that gives `target` what `source` has beyond it: new tables (with their sequences, keys, indexes),
 * new columns (a volatile default added without it, then set, the source's values touched over), changed types,
 * defaults and NOT NULL, constraints and indexes added, dropped or changed, replica identities. What would discard
 * data on the target (a table or column only it has) or what the model does not carry (views, functions) is refused
 * in words. Pure: unit-tested.
 */
export function planCarry(
  source: SchemaModel,
  target: SchemaModel,
  names = { source: 'source', target: 'target' },
  owed: CarryPlan['touch'] = [],
) {
  const S = source.schema;
  const T = (name: string) => `${S}.${quoteIdent(name)}`;
  const p: CarryPlan = {
    statements: [],
    summary: [],
    lend: [],
    hold: [],
    creates: { tables: [], columns: [], indexes: [], constraints: [], sequences: [] },
    touch: [],
    notNullLater: [],
    refused: [],
  };
  const had = byName(target.tables);
  const has = byName(source.tables);
  const newTables = source.tables.filter((t) => !had.has(t.name));
  const lend = new Set<string>();
  const alter = (table: string, sql: string, words: string) => {
    lend.add(table);
    p.statements.push(`ALTER TABLE ${T(table)} ${sql};`);
    p.summary.push(words);
  };
  const later: string[] = [];
  const fks: string[] = [];
  const fkWords: string[] = [];

  const oldSeqs = byName(target.sequences);
  for (const q of source.sequences.filter((x) => !oldSeqs.has(x.name))) {
    p.statements.push(`CREATE SEQUENCE ${T(q.name)} AS ${q.type};`);
    const owner = q.ownedBy?.split('.')[0];
    if (owner === undefined || had.has(owner)) p.creates.sequences.push(q.name);
    if (q.ownedBy)
      later.push(
        `ALTER SEQUENCE ${T(q.name)} OWNED BY ${T(owner!)}.${quoteIdent(q.ownedBy.slice(owner!.length + 1))};`,
      );
  }
  for (const t of newTables) {
    p.statements.push(`CREATE TABLE ${T(t.name)} (${t.columns.map((c) => columnSql(c)).join(', ')});`);
    p.summary.push(`create table ${t.name} (${t.columns.length} columns)`);
    p.creates.tables.push(t.name);
    p.hold.push(t.name);
  }
  for (const t of source.tables.filter((x) => had.has(x.name))) {
    const old = byName(had.get(t.name)!.columns);
    for (const c of t.columns) {
      const o = old.get(c.name);
      if (!o) {
        if (c.identity !== '') {
          p.refused.push(
            `column ${t.name}.${c.name} is an identity column added to an existing table: each node would number ` +
              `its rows its own way; add it on ${names.target} by hand`,
          );
          continue;
        }
        const volatile = c.volatileDefault && c.generated === '';
        p.creates.columns.push({ table: t.name, column: c.name });
        if (!volatile) {
          alter(t.name, `ADD COLUMN ${columnSql(c)}`, `add column ${t.name}.${c.name} ${c.type}`);
          continue;
        }
        alter(
          t.name,
          `ADD COLUMN ${columnSql(c, true)}`,
          `add column ${t.name}.${c.name} ${c.type} (its default ${c.default} gives each node its own values: ` +
            `${names.source}'s are copied over)`,
        );
        p.statements.push(`ALTER TABLE ${T(t.name)} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default};`);
        const touched = p.touch.find((x) => x.table === t.name);
        if (touched) touched.columns.push(c.name);
        else p.touch.push({ table: t.name, columns: [c.name] });
        if (c.notNull) p.notNullLater.push({ table: t.name, column: c.name });
        continue;
      }
      const col = `ALTER COLUMN ${quoteIdent(c.name)}`;
      if (o.identity !== c.identity || o.generated !== c.generated) {
        p.refused.push(`column ${t.name}.${c.name}: identity or generation differs; change it by hand on one node`);
        continue;
      }
      if (o.type !== c.type)
        alter(t.name, `${col} TYPE ${c.type}`, `column ${t.name}.${c.name}: ${o.type} -> ${c.type}`);
      if (o.default !== c.default && c.generated === '')
        alter(
          t.name,
          c.default === null ? `${col} DROP DEFAULT` : `${col} SET DEFAULT ${c.default}`,
          `column ${t.name}.${c.name}: default ${o.default ?? 'none'} -> ${c.default ?? 'none'}`,
        );
      const waits = owed.some((x) => x.table === t.name && x.columns.includes(c.name));
      if (o.notNull !== c.notNull && c.notNull && waits) p.notNullLater.push({ table: t.name, column: c.name });
      else if (o.notNull !== c.notNull)
        alter(
          t.name,
          `${col} ${c.notNull ? 'SET' : 'DROP'} NOT NULL`,
          `column ${t.name}.${c.name}: ${c.notNull ? '' : 'no longer '}NOT NULL`,
        );
    }
    for (const o of had.get(t.name)!.columns.filter((x) => !t.columns.some((c) => c.name === x.name)))
      p.refused.push(
        `column ${t.name}.${o.name} is on ${names.target} only (dropped or renamed on ${names.source}): not carried, ` +
          `since dropping it discards its values in every row of ${t.name} on ${names.target}; after checking, run ` +
          `there: ALTER TABLE ${T(t.name)} DROP COLUMN ${quoteIdent(o.name)};`,
      );
  }
  for (const t of target.tables.filter((x) => !has.has(x.name)))
    p.refused.push(
      `table ${t.name} is on ${names.target} only (dropped or renamed on ${names.source}): not carried, since ` +
        `dropping it discards all its rows on ${names.target}; after checking, run there: DROP TABLE ${T(t.name)};`,
    );

  const gone = (table: string) => !has.has(table);
  const oldCons = new Map(target.constraints.map((k) => [keyOf(k), k]));
  const newCons = new Map(source.constraints.map((k) => [keyOf(k), k]));
  for (const k of target.constraints.filter((x) => !gone(x.table))) {
    const n = newCons.get(keyOf(k));
    if (!n || n.def !== k.def)
      alter(k.table, `DROP CONSTRAINT ${quoteIdent(k.name)}`, `drop constraint ${k.name} on ${k.table}`);
  }
  const oldIdx = new Map(target.indexes.map((i) => [keyOf(i), i]));
  const newIdx = new Map(source.indexes.map((i) => [keyOf(i), i]));
  for (const i of target.indexes.filter((x) => !gone(x.table))) {
    const n = newIdx.get(keyOf(i));
    if (!n || n.def !== i.def) {
      lend.add(i.table);
      p.statements.push(`DROP INDEX ${T(i.name)};`);
      p.summary.push(`drop index ${i.name} on ${i.table}`);
    }
  }
  for (const k of source.constraints) {
    const o = oldCons.get(keyOf(k));
    if (o && o.def === k.def) continue;
    const onOld = had.has(k.table);
    if (onOld && !o) p.creates.constraints.push({ table: k.table, name: k.name });
    if (onOld) lend.add(k.table);
    const sql = `ALTER TABLE ${T(k.table)} ADD CONSTRAINT ${quoteIdent(k.name)} ${k.def};`;
    const words = `add constraint ${k.name} on ${k.table}: ${k.def}`;
    if (k.type === 'f') {
      const ref = referencedTable(k.def);
      if (ref !== undefined && had.has(ref)) lend.add(ref);
      fks.push(sql);
      fkWords.push(words);
    } else {
      p.statements.push(sql);
      p.summary.push(words);
    }
  }
  for (const i of source.indexes) {
    const o = oldIdx.get(keyOf(i));
    if (o && o.def === i.def) continue;
    if (had.has(i.table)) {
      lend.add(i.table);
      if (!o) p.creates.indexes.push(i.name);
    }
    p.statements.push(`${i.def};`);
    p.summary.push(`create index ${i.name} on ${i.table}`);
  }
  p.statements.push(...fks);
  p.summary.push(...fkWords);
  for (const t of source.tables) {
    const o = had.get(t.name);
    const same = o
      ? o.replicaIdentity === t.replicaIdentity && o.identityIndex === t.identityIndex
      : t.replicaIdentity === 'd';
    if (same) continue;
    if (o) lend.add(t.name);
    p.statements.push(`ALTER TABLE ${T(t.name)} REPLICA IDENTITY ${identitySql(t)};`);
    p.summary.push(`replica identity of ${t.name}: ${identitySql(t)}`);
  }
  p.statements.push(...later);
  for (const q of target.sequences.filter((x) => !source.sequences.some((y) => y.name === x.name)))
    if (!q.ownedBy || !gone(q.ownedBy.split('.')[0]!))
      p.refused.push(`sequence ${q.name} is on ${names.target} only: not carried; drop it there by hand if unused`);
  const others = new Set(target.others);
  for (const o of source.others.filter((x) => !others.has(x)))
    p.refused.push(
      `${o} on ${names.source} is not on ${names.target} as it is there: pgduplex carries tables, ` +
        `columns, keys, indexes and sequences, not this; create it on ${names.target} by hand`,
    );
  const mine = new Set(source.others);
  for (const o of target.others.filter((x) => !mine.has(x)))
    p.refused.push(`${o} on ${names.target} is not on ${names.source} as it is there: not carried`);
  p.lend = [...lend].filter((t) => had.has(t)).sort();
  return p;
}

/** Whether two models describe the same schema. */
export function sameSchema(a: SchemaModel, b: SchemaModel): boolean {
  const p = planCarry(a, b);
  return p.statements.length === 0 && p.refused.length === 0;
}

const OWN_VALUES = / gives each node its own values: /;

/** The touches a carry owes, read back from its journaled words (a run cut short between carry and touch). */
export function touchFromSummary(lines: readonly string[]): CarryPlan['touch'] {
  const out: CarryPlan['touch'] = [];
  for (const line of lines) {
    const m = /^add column ([^ .]+)\.([^ ]+) /.exec(line);
    if (!m || !OWN_VALUES.test(line)) continue;
    const t = out.find((x) => x.table === m[1]);
    if (t) t.columns.push(m[2]!);
    else out.push({ table: m[1]!, columns: [m[2]!] });
  }
  return out;
}
