import { PgduplexError } from '../../shared/errors.js';
import {
  columnsTouchAction,
  schemaCarryChange,
  schemaReleaseAction,
  subscriptionRefreshAction,
} from '../../shared/protocol/migrate.js';
import type { Agents } from '../setup/agents.js';
import type { Report } from '../setup/runner.js';
import { drained, pairSlots } from '../setup/settled.js';
import { PUBLICATION, subscriptionName, type PairFacts } from '../setup/steps.js';
import { planCarry, touchFromSummary, type CarryPlan } from './diff.js';
import { identityFor } from './keys.js';
import {
  carriesSinceHold,
  change,
  readNode,
  setSubscriptionEnabled,
  subscriptionOf,
  waitTablesReady,
  type NodeState,
} from './pair-ops.js';

/** What the operator chose for a new table without a key or a usable unique index. */
export type KeylessChoice = 'replica-identity-full' | 'exclude' | undefined;

/** What converging needs: who has the schema, the pair's sequence slots, and the operator's choices. */
export interface ConvergeContext {
  agents: Agents;
  f: PairFacts;
  slots: { source: 1 | 2; target: 1 | 2 };
  keyless: KeylessChoice;
  report: Report;
  /** Both schemas were backed up by this run already (before the operator's command). */
  backedUp?: boolean;
}

/** Both nodes' schema definitions dumped, before anything changes them. */
export async function backUpSchemas(agents: Agents, f: PairFacts, report: Report): Promise<void> {
  await Promise.all(
    [f.source, f.target].map((n) =>
      change(agents, n, 'backup', { database: f.database, schema: 'public', schemaOnly: true }, report),
    ),
  );
}

/** What a converge did, for the summary. */
export interface ConvergeResult {
  carried: string[];
  refused: string[];
  newTables: string[];
}

/** The plan from both nodes' models, named for the operator. */
export const carryPlan = (f: PairFacts, s: NodeState, t: NodeState, owed: CarryPlan['touch'] = []): CarryPlan =>
  planCarry(s.model, t.model, { source: f.source.node, target: f.target.node }, owed);

/**
 * New tables on the source get a replica identity there first (their key, a unique index over NOT NULL columns,
 * or the operator's remedy) and, when the publication lists its tables, a place in it.
 */
async function prepareSource(c: ConvergeContext, s: NodeState, t: NodeState): Promise<string[]> {
  const { agents, f, report } = c;
  const fresh = s.model.tables.filter((x) => !t.model.tables.some((y) => y.name === x.name));
  const choices = fresh.map((x) => identityFor(s.model, x));
  const none = choices.filter((x) => x.kind === 'none').map((x) => x.table);
  if (none.length > 0 && c.keyless === undefined)
    throw new PgduplexError(
      'REFUSED',
      `new tables without a primary key or a unique index over NOT NULL columns: ${none.join(', ')}`,
      {
        hint:
          'their UPDATE and DELETE would fail on the node that publishes them; re-run pgduplex migrate ' +
          '--replica-identity-full (nothing is lost meanwhile: the other node takes their rows once this is ' +
          'decided), or add a key in a migration and re-run',
      },
    );
  if (none.length > 0 && c.keyless === 'exclude')
    throw new PgduplexError('REFUSED', `--exclude-tables-without-key cannot leave new tables out: ${none.join(', ')}`, {
      hint: 'use --replica-identity-full, or add a key in a migration and re-run',
    });
  const identities = choices.flatMap((x) =>
    x.kind === 'index'
      ? [{ schema: 'public', name: x.table, index: x.index }]
      : x.kind === 'none'
        ? [{ schema: 'public', name: x.table }]
        : [],
  );
  if (identities.length > 0)
    await change(agents, f.source, 'replica-identity', { database: f.database, tables: identities }, report);
  const listed = s.snapshot.published ?? [];
  const unlisted = fresh.map((x) => `public.${x.name}`).filter((x) => !listed.includes(x));
  if (unlisted.length > 0 && fresh.length > 0) {
    const list = [...listed, ...unlisted].map((x) => ({ schema: x.split('.')[0]!, name: x.slice(x.indexOf('.') + 1) }));
    for (const n of [f.source, f.target])
      await change(agents, n, 'publication', { database: f.database, name: PUBLICATION, tables: { list } }, report);
  }
  await change(agents, f.source, 'sequences', { database: f.database, step: 2, slot: c.slots.source }, report);
  return fresh.map((x) => x.name);
}

/**
 * Brings the target's schema to the source's while both take writes, so that every row arrives once: the target's
 * subscription is held (its rows wait in the source's slot), the schema carried in one transaction with new tables
 * held against the target's own writes, the source's subscription refreshed (new tables, empty on the target, copy
 * nothing), the target's rows drained to the source, volatile defaults touched so the source's values replicate,
 * the hold released, the target's subscription refreshed with a copy of the new tables, its sequences moved above
 * the copied keys, the tables released, and what could only follow (NOT NULL on touched columns) carried last.
 * Every step reads state first, so a run cut short anywhere is finished by the next.
 */
export async function converge(c: ConvergeContext): Promise<ConvergeResult> {
  const { agents, f, report } = c;
  const db = f.database;
  let [s, t] = await Promise.all([readNode(agents, f, f.source), readNode(agents, f, f.target)]);
  const subOnTarget = subscriptionOf(t, f.source);
  if (!subOnTarget || !subscriptionOf(s, f.target))
    throw new PgduplexError(
      'NOT_SET_UP',
      'the pair does not replicate both ways: nothing to carry a schema change over',
      {
        hint: 'run pgduplex setup first',
      },
    );
  const owed = subOnTarget.enabled ? [] : touchFromSummary(await carriesSinceHold(agents, f.target));
  // A NOT NULL on a column still owed its values waits for them (a run cut short between carry and touch).
  let plan = carryPlan(f, s, t, owed);
  const carried: string[] = [];
  let newTables: string[] = [];
  if (plan.statements.length > 0) {
    if (subOnTarget.enabled) await setSubscriptionEnabled(agents, f, f.target, f.source, false, report);
    newTables = await prepareSource(c, s, t);
    s = await readNode(agents, f, f.source);
    plan = carryPlan(f, s, t, owed);
    if (!c.backedUp) await backUpSchemas(agents, f, report);
    await agents
      .call(
        f.target.side,
        schemaCarryChange.apply,
        {
          database: db,
          schema: 'public',
          script: plan.statements.join('\n'),
          lend: plan.lend,
          hold: plan.hold,
          creates: plan.creates,
          summary: plan.summary,
        },
        { timeoutMs: 900_000, onProgress: (m) => report('...', f.target.node, `schema-carry: ${m}`) },
      )
      .then((r) => {
        for (const x of r.changes) report('changed', f.target.node, `schema-carry: ${x}`);
        for (const x of r.notes ?? []) report('note', f.target.node, `schema-carry: ${x}`);
      });
    carried.push(...plan.summary);
    owed.push(...plan.touch);
  }
  // The target's first copy of a new table reads it as the pair's role (a table made by hand has no grant either).
  const tables = s.model.tables.map((x) => x.name);
  if (tables.length > 0) await change(agents, f.source, 'repl-grant', { database: db, tables }, report);
  t = await readNode(agents, f, f.target);
  const heldNow = t.held;
  if (heldNow.length > 0 || plan.statements.length > 0) {
    const r = await agents.call(f.source.side, subscriptionRefreshAction, {
      database: db,
      name: subscriptionName(f.target.node),
      copyData: false,
    });
    if (r.added.length > 0) report('changed', f.source.node, `subscription.refresh: now applies ${r.added.join(', ')}`);
  }
  if (!(subscriptionOf(t, f.source)?.enabled ?? true)) {
    // The target's rows written before it had the new columns must be on the source before its values are sent.
    await drained(agents, f, pairSlots(f), 600_000, ['target']);
    for (const x of owed) {
      const r = await agents.call(
        f.source.side,
        columnsTouchAction,
        { database: db, schema: 'public', table: x.table, columns: x.columns },
        { timeoutMs: 3_600_000, onProgress: (m) => report('...', f.source.node, `columns.touch: ${m}`) },
      );
      report(
        'changed',
        f.source.node,
        `columns.touch: ${x.table} (${x.columns.join(', ')}): ${r.rows} rows sent again`,
      );
    }
    await setSubscriptionEnabled(agents, f, f.target, f.source, true, report);
  }
  const r = await agents.call(f.target.side, subscriptionRefreshAction, {
    database: db,
    name: subscriptionName(f.source.node),
    copyData: true,
  });
  if (r.added.length > 0) report('changed', f.target.node, `subscription.refresh: copying ${r.added.join(', ')}`);
  await waitTablesReady(agents, f, f.target, f.source);
  await change(agents, f.target, 'sequences', { database: db, step: 2, slot: c.slots.target }, report);
  const released = await agents.call(f.target.side, schemaReleaseAction, { database: db, schema: 'public' });
  if (released.released.length > 0)
    report('changed', f.target.node, `schema.release: ${released.released.join(', ')} take local writes again`);
  await drained(agents, f, pairSlots(f), 600_000);
  [s, t] = await Promise.all([readNode(agents, f, f.source), readNode(agents, f, f.target)]);
  const rest = carryPlan(f, s, t);
  if (rest.statements.length > 0) {
    await agents.call(
      f.target.side,
      schemaCarryChange.apply,
      {
        database: db,
        schema: 'public',
        script: rest.statements.join('\n'),
        lend: rest.lend,
        hold: [],
        creates: rest.creates,
        summary: rest.summary,
      },
      { timeoutMs: 900_000 },
    );
    for (const x of rest.summary) report('changed', f.target.node, `schema-carry: ${x}`);
    carried.push(...rest.summary);
    [s, t] = await Promise.all([readNode(agents, f, f.source), readNode(agents, f, f.target)]);
  }
  return { carried, refused: carryPlan(f, s, t).refused, newTables };
}
