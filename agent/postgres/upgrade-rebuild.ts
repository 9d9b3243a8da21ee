import { PgduplexError } from '../../shared/errors.js';
import { poll } from '../../shared/poll.js';
import { PGDUPLEX_OBJECT_LIKE } from '../../shared/replication.js';
import type { Cluster } from './cluster.js';
import { pgMajor, queryJsonFor, serverVersionNum } from './server-version.js';
import { runPsql } from './psql.js';
import { subscriptionFailoverColumn } from './catalog-columns.js';

/** One pgduplex subscription as re-creating it needs it, with where it stopped in the publisher's WAL. */
export interface RebuildSubscription {
  name: string;
  enabled: boolean;
  conninfo: string;
  publications: string[];
  slot: string | null;
  origin: string;
  binary: boolean;
  streaming: 'off' | 'on' | 'parallel';
  disableOnError: boolean;
  passwordRequired: boolean;
  runAsOwner: boolean;
  /** null on 16, which has no failover slots. */
  failover: boolean | null;
  twoPhase: boolean;
  /** Apply workers alive for it (a parked subscription has none). */
  workers: number;
  /** Tables it holds a state for (a subscription pg_dump made from a 16 cluster holds none). */
  tables: number;
  /** The end of the last transaction it applied from the publisher: it resumes after this. */
  originLsn: string | null;
}

/** One pgduplex logical slot (the peer's subscription reads this node through it). */
export interface RebuildSlot {
  name: string;
  plugin: string;
  twoPhase: boolean;
  failover: boolean | null;
  active: boolean;
}

/** The pair's replication objects of one database, read before the stop, re-created after the upgrade. */
export interface RebuildSpec {
  database: string;
  subscriptions: RebuildSubscription[];
  slots: RebuildSlot[];
  /** Objects of other tools that pg_upgrade will not carry from this major (named in the plan, left alone). */
  foreign: string[];
}

const specSql = (v: number) => `set search_path = pg_catalog;
select json_build_object(
  'subscriptions', (select coalesce(json_agg(json_build_object('name', s.subname, 'enabled', s.subenabled,
      'conninfo', s.subconninfo, 'publications', s.subpublications, 'slot', s.subslotname, 'origin', s.suborigin,
      'binary', s.subbinary, 'streaming', case s.substream when 'f' then 'off' when 't' then 'on' else 'parallel' end,
      'disableOnError', s.subdisableonerr, 'passwordRequired', s.subpasswordrequired, 'runAsOwner', s.subrunasowner,
      'failover', ${subscriptionFailoverColumn(v)}, 'twoPhase', s.subtwophasestate <> 'd',
      'workers', (select count(*) from pg_stat_subscription w where w.subid = s.oid and w.pid is not null),
      'tables', (select count(*) from pg_subscription_rel r where r.srsubid = s.oid),
      'originLsn', (select pg_replication_origin_progress(o.roname, true)::text from pg_replication_origin o
        where o.roname = 'pg_' || s.oid)) order by s.subname), '[]')
    from pg_subscription s where s.subdbid = (select oid from pg_database where datname = current_database())
      and s.subname like :'like'),
  'slots', (select coalesce(json_agg(json_build_object('name', slot_name, 'plugin', plugin, 'twoPhase', two_phase,
      'failover', ${pgMajor(v) >= 17 ? 'failover' : 'null::boolean'}, 'active', active) order by slot_name), '[]')
    from pg_replication_slots where slot_type = 'logical' and database = current_database()
      and slot_name like :'like' and slot_name not like 'pg\\_%\\_sync\\_%'),
  'foreign', (select coalesce(json_agg(x order by x), '[]') from (
    select 'subscription ' || s.subname x from pg_subscription s
      where s.subdbid = (select oid from pg_database where datname = current_database()) and s.subname not like :'like'
    union all select 'slot ' || slot_name from pg_replication_slots
      where database = current_database() and slot_name not like :'like'
        and slot_name not like 'pg\\_%\\_sync\\_%') f))`;

type T = { timeoutMs: number; database: string };

/** The pair's subscriptions and slots in `database` as they are now. */
export async function readRebuildSpec(c: Cluster, t: T): Promise<RebuildSpec> {
  const r = await queryJsonFor<Omit<RebuildSpec, 'database'>>(c, specSql, {
    ...t,
    vars: { like: PGDUPLEX_OBJECT_LIKE },
  });
  return { database: t.database, ...r };
}

const each = (names: readonly string[], sql: (n: string) => string) => names.map(sql).join('\n');
const lit = (n: string) => `'${n.replace(/'/g, "''")}'`;

/**
 * Why: the position a subscription resumes from is exact only once its apply workers are gone. Disables the pair's
 * subscriptions and waits for their workers to exit; answers the spec read after, with each one's stopping point.
 */
export async function parkSubscriptions(c: Cluster, t: T, limitMs = 60_000): Promise<RebuildSpec> {
  const before = await readRebuildSpec(c, t);
  const on = before.subscriptions.filter((s) => s.enabled).map((s) => s.name);
  if (on.length > 0)
    await runPsql(
      c,
      each(on, (n) => `select format('alter subscription %I disable', ${lit(n)}) \\gexec`),
      t,
    );
  let spec = before;
  await poll(
    async () => {
      spec = await readRebuildSpec(c, t);
      return spec.subscriptions.every((s) => !s.enabled && s.workers === 0) ? true : undefined;
    },
    {
      timeoutMs: limitMs,
      intervalMs: 200,
      expired: () => {
        throw new PgduplexError('TIMEOUT', `the apply workers of ${on.join(', ')} did not stop within ${limitMs} ms`, {
          hint: 'see the PostgreSQL log; re-run pgduplex pg-upgrade (the subscriptions stay disabled meanwhile)',
        });
      },
    },
  );
  return spec;
}

/**
 * Takes the pair's subscriptions (not their slots on the peer) and slots out of a cluster before pg_upgrade, so it
 * carries none and they are re-created after it; the slots must be idle (the peer's subscription paused first).
 */
export async function dropForUpgrade(c: Cluster, spec: RebuildSpec, t: T): Promise<void> {
  const busy = (await readRebuildSpec(c, t)).slots.filter((s) => s.active).map((s) => s.name);
  if (busy.length > 0)
    throw new PgduplexError('REFUSED', `slot ${busy.join(', ')} is in use: the peer's subscription still reads it`, {
      hint: "pause the peer's subscription first (pgduplex pg-upgrade does), then re-run",
    });
  const subs = spec.subscriptions.map((s) => s.name);
  await runPsql(
    c,
    [
      each(subs, (n) => `select format('alter subscription %I set (slot_name = none)', ${lit(n)}) \\gexec`),
      each(subs, (n) => `select format('drop subscription if exists %I', ${lit(n)}) \\gexec`),
      each(
        spec.slots.map((s) => s.name),
        (n) => `select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${lit(n)};`,
      ),
    ].join('\n'),
    t,
  );
}

const CREATE_SLOT_SQL = (v: number) =>
  `select pg_create_logical_replication_slot(:'slot', :'plugin', false, :'two_phase'::bool` +
  `${pgMajor(v) >= 17 ? ", :'failover'::bool" : ''});`;

const CREATE_SUB_SQL = (v: number) =>
  `select format('create subscription %I connection %L publication %s with (connect = true, create_slot = false, ` +
  `slot_name = %L, enabled = false, copy_data = false, origin = %s, binary = %s, streaming = %s, ` +
  `disable_on_error = %s, password_required = %s, run_as_owner = %s, two_phase = %s%s)', :'sub', :'conn',
  (select string_agg(quote_ident(p), ', ') from unnest(:'pubs'::text[]) p), :'slot', :'origin', :'binary',
  :'streaming', :'disable_on_error', :'password_required', :'run_as_owner', :'two_phase', ` +
  `${pgMajor(v) >= 17 ? `format(', failover = %s', :'failover')` : "''"}) \\gexec`;

const ADVANCE_SQL = `select pg_replication_origin_advance('pg_' || s.oid, :'lsn'::pg_lsn) from pg_subscription s
  where s.subname = :'sub' and s.subdbid = (select oid from pg_database where datname = current_database());`;
const ENABLE_SQL = `select format('alter subscription %I enable', :'sub') \\gexec`;

/** How the new cluster's subscriptions differ from the old: their passfile's path, binary off between majors. */
export interface RebuildAdjust {
  conninfo: (old: string) => string;
  binary?: false;
}

/**
 * Re-creates the pair's slots and subscriptions of `spec` where pg_upgrade did not carry them (from 16, or dropped
 * first): slots at the cluster's current WAL (nothing was written here since the peer last read), subscriptions
 * with their tables ready (no copy) and their origin at the recorded position, so each resumes exactly after the
 * last transaction it applied. Idempotent: a re-run after a crash finishes what is left. Answers what it did.
 */
export async function rebuildReplication(c: Cluster, spec: RebuildSpec, adjust: RebuildAdjust, t: T) {
  const v = await serverVersionNum(c, t.timeoutMs);
  const done: string[] = [];
  const now = await readRebuildSpec(c, t);
  for (const slot of spec.slots.filter((s) => !now.slots.some((n) => n.name === s.name))) {
    const vars = { slot: slot.name, plugin: slot.plugin, two_phase: String(slot.twoPhase) };
    await runPsql(c, CREATE_SLOT_SQL(v), { ...t, vars: { ...vars, failover: String(slot.failover ?? false) } });
    done.push(`created slot ${slot.name} at the new cluster's WAL position`);
  }
  for (const sub of spec.subscriptions) {
    let cur = now.subscriptions.find((n) => n.name === sub.name);
    if (cur && cur.tables === 0 && sub.tables > 0) {
      // What pg_dump makes of a 16 cluster's subscription (connect = false): disabled, no table states, no progress.
      await runPsql(
        c,
        `select format('alter subscription %I disable', :'sub') \\gexec
        select format('alter subscription %I set (slot_name = none)', :'sub') \\gexec
        select format('drop subscription %I', :'sub') \\gexec`,
        { ...t, vars: { sub: sub.name } },
      );
      cur = undefined;
    }
    if (!cur) {
      await runPsql(c, CREATE_SUB_SQL(v), {
        ...t,
        vars: {
          sub: sub.name,
          conn: adjust.conninfo(sub.conninfo),
          pubs: `{${sub.publications.map((p) => `"${p}"`).join(',')}}`,
          slot: sub.slot ?? sub.name,
          origin: sub.origin,
          binary: String(adjust.binary ?? sub.binary),
          streaming: sub.streaming,
          disable_on_error: String(sub.disableOnError),
          password_required: String(sub.passwordRequired),
          run_as_owner: String(sub.runAsOwner),
          two_phase: String(sub.twoPhase),
          failover: String(sub.failover ?? false),
        },
      });
      done.push(`re-created subscription ${sub.name} with its tables ready (nothing copied)`);
    }
    if (!cur?.enabled) {
      const sql = sub.originLsn === null ? ENABLE_SQL : `${ADVANCE_SQL}\n${ENABLE_SQL}`;
      await runPsql(c, sql, { ...t, vars: { sub: sub.name, ...(sub.originLsn ? { lsn: sub.originLsn } : {}) } });
      done.push(`subscription ${sub.name} resumes after ${sub.originLsn ?? 'its slot'}`);
    }
  }
  return done;
}
