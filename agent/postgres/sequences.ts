/** A sequence with the column it feeds and where both stand now. */
export interface SequenceState {
  schema: string;
  name: string;
  increment: number;
  /** The value nextval() would return next. */
  next: number;
  /** The largest value in the owning column (0 for an empty table or no owner). */
  columnMax: number;
  owner: string | null;
}

/** Where a sequence must be for a node of a pair: its step, and the next value in its residue class. */
export interface SequenceTarget {
  increment: number;
  next: number;
}

/**
 * Disjoint keys for two (or more) writers: node `slot` of `step` takes the values ≡ slot (mod step),
 * starting above anything the table or the sequence has handed out. Pure, so it is unit-tested.
 */
export function interleave(s: SequenceState, step: number, slot: number): SequenceTarget {
  const floor = Math.max(s.columnMax, s.next - 1);
  const r = ((slot % step) + step) % step;
  let next = floor + 1;
  const off = (((next - r) % step) + step) % step;
  if (off !== 0) next += step - off;
  return { increment: step, next };
}

/**
 * Whether a sequence already hands out only this node's residue class. Once a pair runs, the column
 * also holds the peer's (other-residue) values, so being below the column's maximum is fine then.
 */
export function isInterleaved(s: SequenceState, step: number, slot: number): boolean {
  const r = ((slot % step) + step) % step;
  return s.increment === step && (((s.next - r) % step) + step) % step === 0;
}

/** Reads every sequence outside the system schemas with its owning column's maximum. */
export const SEQUENCES_SQL = `select coalesce(json_agg(json_build_object(
    'schema', s.schemaname, 'name', s.sequencename, 'increment', s.increment_by,
    'next', (xpath('/row/v/text()', query_to_xml(
      format('select case when is_called then last_value + %s else last_value end as v from %I.%I',
        s.increment_by, s.schemaname, s.sequencename), false, true, '')))[1]::text::bigint,
    'owner', o.owner,
    'columnMax', coalesce(case when o.tbl is null then 0 else
      (xpath('/row/m/text()', query_to_xml(format('select coalesce(max(%I), 0) as m from %s', o.col, o.tbl),
        false, true, '')))[1]::text::bigint end, 0))
    order by s.schemaname, s.sequencename), '[]')
  from pg_sequences s
  left join lateral (
    select format('%I.%I', n.nspname, c.relname) as tbl, a.attname as col,
      format('%s.%s.%s', n.nspname, c.relname, a.attname) as owner
    from pg_depend d join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
    join pg_class c on c.oid = d.refobjid join pg_namespace n on n.oid = c.relnamespace
    where d.classid = 'pg_class'::regclass and d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
      and d.deptype in ('a', 'i')
    limit 1) o on true
  where s.schemaname not in ('pg_catalog', 'information_schema')`;
