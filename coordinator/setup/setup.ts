import { randomBytes } from 'node:crypto';
import { PgduplexError } from '../../shared/errors.js';
import type { Agents, Side } from './agents.js';
import { runChange, type Report } from './runner.js';
import { configureSteps, credentialSteps, publishSteps, REPL_ROLE, sequenceStep, subscriptionName, subscriptionStep, type PairFacts } from './steps.js';
import { verifyPair, type VerifyResult } from './verify.js';

/** What the operator asked for. */
export interface SetupOptions {
  database: string;
  source: Side;
  dryRun: boolean;
  /** The operator agreed to replace the peer's schema (needed when it holds tables). */
  yes: boolean;
  /** ...and to destroy the rows in it (needed when those tables hold rows). */
  replacePeerData: boolean;
  /** Remedy for tables without a replica identity: leave them out of the publications. */
  excludeTablesWithoutKey: boolean;
  report: Report;
  confirm?: (question: string) => Promise<boolean>;
}

type Facts = { ready: boolean; serverVersionNum?: number; databases?: string[]; reason?: string };
type Hazards = { noReplicaIdentity: Array<{ table: string; updates: number }>; unlogged: string[]; largeObjects: number; tables: string[] };
type Sums = Array<{ table: string; rows: number; sum: string }>;

/** Both nodes' names and the addresses each is known by to the other, from their trust stores. */
export async function pairFacts(agents: Agents, database: string, source: Side): Promise<PairFacts> {
  const [me, peer] = await Promise.all([agents.call<{ node: string; peerAddress?: string }>('local', 'whoami', {}), agents.call<{ node: string; peerAddress?: string }>('peer', 'whoami', {})]);
  if (!me.peerAddress || !peer.peerAddress) throw new PgduplexError('NOT_PAIRED', 'the two nodes are not paired', { hint: 'pgduplex pair --accept / pgduplex pair first' });
  const byside = { local: { side: 'local' as Side, node: me.node, address: peer.peerAddress }, peer: { side: 'peer' as Side, node: peer.node, address: me.peerAddress } };
  return { database, source: byside[source], target: byside[source === 'local' ? 'peer' : 'local'], pgPort: 5432 };
}

async function preflight(agents: Agents, o: SetupOptions): Promise<PairFacts> {
  const f = await pairFacts(agents, o.database, o.source);
  for (const n of [f.source, f.target]) {
    const facts = (await agents.call<{ postgresql: Facts }>(n.side, 'facts', {})).postgresql;
    if (!facts.ready) throw new PgduplexError('PG_UNREACHABLE', `PostgreSQL on ${n.node} is not ready: ${facts.reason ?? ''}`);
    if ((facts.serverVersionNum ?? 0) < 160000) throw new PgduplexError('BAD_PARAMS', `${n.node} runs PostgreSQL ${facts.serverVersionNum}; origin = none needs 16 or newer`);
    if (!facts.databases?.includes(o.database)) throw new PgduplexError('BAD_PARAMS', `database ${o.database} does not exist on ${n.node}`, { hint: 'create it on both nodes (same name) first' });
    o.report('ok', n.node, `preflight: PostgreSQL ${facts.serverVersionNum}, database ${o.database}`);
  }
  return f;
}

/** How the target gets the source's schema; decided before anything changes, so a refusal changes nothing. */
type Bootstrap = { kind: 'subscribed' } | { kind: 'kept'; tables: number } | { kind: 'import' } | { kind: 'replace'; tables: number; what: string };

async function planBootstrap(agents: Agents, f: PairFacts, o: SetupOptions): Promise<Bootstrap> {
  const subs = await agents.call<Array<{ name: string }>>(f.target.side, 'subscription.status', { database: f.database });
  if (subs.some((s) => s.name === subscriptionName(f.source.node))) return { kind: 'subscribed' };
  const [srcSums, tgtSums] = await Promise.all([agents.call<Sums>(f.source.side, 'table-checksums', { database: f.database }), agents.call<Sums>(f.target.side, 'table-checksums', { database: f.database })]);
  const rows = tgtSums.reduce((n, t) => n + t.rows, 0);
  if (tgtSums.length === 0) return { kind: 'import' };
  if (rows === 0 && tgtSums.map((t) => t.table).join(',') === srcSums.map((t) => t.table).join(',')) return { kind: 'kept', tables: tgtSums.length };
  const what = `schema public of ${f.database} on ${f.target.node} (${f.target.address}): ${tgtSums.length} tables, ${rows} rows`;
  if (o.dryRun) return { kind: 'replace', tables: tgtSums.length, what };
  if (rows > 0 && !o.replacePeerData) throw new PgduplexError('BAD_PARAMS', `setup would destroy ${what}`, { hint: 'nothing was changed; if that data may go, re-run with --yes --replace-peer-data (a backup is taken first)' });
  if (!o.yes && !(o.confirm && (await o.confirm(`About to back up and then destroy ${what}. Continue?`)))) {
    throw new PgduplexError('BAD_PARAMS', `not confirmed: setup would replace ${what}`, { hint: 'nothing was changed; re-run with --yes to confirm' });
  }
  return { kind: 'replace', tables: tgtSums.length, what };
}

async function bootstrapTarget(agents: Agents, f: PairFacts, o: SetupOptions, plan: Bootstrap): Promise<void> {
  if (plan.kind === 'subscribed') return void o.report('ok', f.target.node, 'bootstrap: already subscribed to the source, nothing to copy');
  if (plan.kind === 'kept') return void o.report('ok', f.target.node, `bootstrap: ${f.target.node} already holds the same ${plan.tables} tables and no rows; schema kept`);
  if (plan.kind === 'import') {
    if (o.dryRun) return void o.report('would', f.target.node, `schema-import: copy the schema of ${f.database} from ${f.source.node}`);
    await runChange(agents, { side: f.target.side, node: f.target.node, action: 'schema-import', params: { database: f.database } }, o);
    return;
  }
  if (o.dryRun) return void o.report('would', f.target.node, `REPLACE ${plan.what} (after a backup)`);
  const backup = await agents.call<{ notes?: string[] }>(f.target.side, 'backup.apply', { database: f.database }, { timeoutMs: 3_600_000, onProgress: (m) => o.report('...', f.target.node, `backup: ${m}`) });
  const backupId = /backup id (\S+) in/.exec(backup.notes?.[0] ?? '')?.[1];
  if (!backupId) throw new PgduplexError('INTERNAL', 'the backup did not report its id');
  o.report('changed', f.target.node, `backup: ${backup.notes?.[0] ?? backupId}`);
  await runChange(agents, { side: f.target.side, node: f.target.node, action: 'schema-import', params: { database: f.database, replace: { tables: plan.tables, backupId } } }, o);
}

async function waitForCopy(agents: Agents, f: PairFacts, o: SetupOptions): Promise<void> {
  const name = subscriptionName(f.source.node);
  const deadline = Date.now() + 6 * 3_600_000;
  let last = '';
  for (;;) {
    const sub = (await agents.call<Array<{ name: string; tables: Record<string, number> }>>(f.target.side, 'subscription.status', { database: f.database })).find((s) => s.name === name);
    const t = sub?.tables ?? {};
    const total = Object.values(t).reduce((a, b) => a + b, 0);
    const ready = t['r'] ?? 0;
    const line = `initial copy: ${ready}/${total} tables ready`;
    if (line !== last) o.report('...', f.target.node, line);
    last = line;
    if (total > 0 && ready === total) return;
    if (Date.now() > deadline) throw new PgduplexError('TIMEOUT', `the initial copy to ${f.target.node} did not finish`, { hint: 're-run pgduplex setup: it resumes where it stopped' });
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `pgduplex setup`: preflight, configure both nodes, credentials, bootstrap, publish, subscribe, verify. */
export async function setup(agents: Agents, o: SetupOptions): Promise<VerifyResult | undefined> {
  const f = await preflight(agents, o);
  const hz = await agents.call<Hazards>(f.source.side, 'hazards', { database: o.database });
  for (const u of hz.unlogged) o.report('note', f.source.node, `hazard: ${u} is unlogged and cannot be replicated`);
  if (hz.largeObjects > 0) o.report('note', f.source.node, `hazard: ${hz.largeObjects} large objects are not replicated`);
  let tables: { all: true } | { list: Array<{ schema: string; name: string }> } = { all: true };
  if (hz.noReplicaIdentity.length > 0) {
    const names = hz.noReplicaIdentity.map((t) => `${t.table} (${t.updates} updates/deletes so far)`).join(', ');
    if (!o.excludeTablesWithoutKey) {
      throw new PgduplexError('BAD_PARAMS', `tables without a primary key or replica identity: ${names}; once published, UPDATE and DELETE on them would fail`, {
        hint: 'add a primary key to each, or re-run with --exclude-tables-without-key to leave them out of replication (they then differ between the nodes)',
      });
    }
    const skip = new Set(hz.noReplicaIdentity.map((t) => t.table));
    tables = { list: hz.tables.filter((t) => !skip.has(t) && !hz.unlogged.includes(t)).map((t) => ({ schema: t.split('.')[0] ?? 'public', name: t.split('.')[1] ?? t })) };
    o.report('note', f.source.node, `hazard: not replicating ${names}`);
  }

  const boot = await planBootstrap(agents, f, o);
  const restarts: Array<{ side: Side; node: string; journalId?: string }> = [];
  for (const step of configureSteps(f)) {
    const r = await runChange(agents, step, o);
    if (step.action === 'pg-settings' && r.restartNeeded) restarts.push({ side: step.side, node: step.node, ...(r.journalId ? { journalId: r.journalId } : {}) });
  }
  if (!o.dryRun) {
    await Promise.all(restarts.map(async (n) => {
      await agents.call(n.side, 'pg-service.restart', n.journalId ? { restoreJournalId: n.journalId } : {}, { timeoutMs: 300_000 });
      o.report('changed', n.node, 'pg-service: restarted PostgreSQL for wal_level = logical');
    }));
  } else for (const n of restarts) o.report('would', n.node, 'pg-service: restart PostgreSQL');

  const status = await Promise.all([f.source, f.target].map((n) => agents.call<{ roleExists: boolean; passfileHasPeer: boolean }>(n.side, 'credentials.status', { role: REPL_ROLE, peer: { host: (n === f.source ? f.target : f.source).address, port: f.pgPort, database: f.database } })));
  if (status.every((s) => s.roleExists && s.passfileHasPeer)) o.report('ok', `${f.source.node}+${f.target.node}`, 'credentials: replication role and passfiles in place');
  else {
    const password = randomBytes(24).toString('base64url');
    for (const step of credentialSteps(f, password)) await runChange(agents, step, o);
  }

  await bootstrapTarget(agents, f, o, boot);
  await runChange(agents, sequenceStep(f, f.source, 1), o);
  for (const step of publishSteps(f, tables)) await runChange(agents, step, o);
  await runChange(agents, subscriptionStep(f, f.target, f.source, boot.kind !== 'subscribed'), o);
  if (!o.dryRun) await waitForCopy(agents, f, o);
  // Only now does the target hold the source's keys, so its sequences can start above them.
  await runChange(agents, sequenceStep(f, f.target, 2), o);
  await runChange(agents, subscriptionStep(f, f.source, f.target, false), o);
  if (o.dryRun) return undefined;
  const excluded = 'list' in tables ? hz.noReplicaIdentity.map((t) => t.table) : [];
  return verifyPair(agents, f, o.report, excluded);
}
