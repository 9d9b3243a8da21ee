import { randomBytes } from 'node:crypto';
import { PgduplexError } from '../../shared/errors.js';
import type { Agents, Side } from './agents.js';
import { bootstrapTarget, planBootstrap, waitForCopy, type BootstrapOptions } from './bootstrap.js';
import { dropOrphanSlot } from './orphan-slot.js';
import { checkRoom, keylessTables, preflight, type KeylessRemedy, type Preflight } from './preflight.js';
import { runChange } from './runner.js';
import { atStep } from './stage.js';
import { configureSteps, credentialSteps, extensionStep, listenFor, publishSteps, REPL_ROLE, sequenceStep, subscriptionStep, type PairFacts } from './steps.js';
import { contentsVerifiedAt, verifyPair, type VerifyResult } from './verify.js';

/** What the operator asked for. */
export interface SetupOptions extends BootstrapOptions {
  database: string;
  source: Side;
  /** Remedy for tables without a replica identity: leave them out, or give them REPLICA IDENTITY FULL. */
  keyless: KeylessRemedy;
  /** Compare every row even when the run changed nothing. */
  fullVerify?: boolean;
  /** max_slot_wal_keep_size on both nodes (default PAIR_SETTINGS'). */
  maxSlotWalKeepSize?: string;
}

/** What a finished setup hands back for the summary. */
export interface SetupResult {
  verify?: VerifyResult;
  /** Where the peer's previous data went, when it was replaced. */
  backup?: string;
}

type Who = { node: string; version: string; peerAddress?: string };

/** Both nodes' names, agent versions and the addresses each is known by to the other, from their trust stores. */
export async function pairFacts(agents: Agents, database: string, source: Side): Promise<PairFacts & { versions: Record<Side, string> }> {
  const [me, peer] = await Promise.all([agents.call<Who>('local', 'whoami', {}), agents.call<Who>('peer', 'whoami', {})]);
  if (!me.peerAddress || !peer.peerAddress) throw new PgduplexError('NOT_PAIRED', 'the two nodes are not paired', { hint: 'pgduplex pair --accept / pgduplex pair first' });
  const byside = { local: { side: 'local' as Side, node: me.node, address: peer.peerAddress }, peer: { side: 'peer' as Side, node: peer.node, address: me.peerAddress } };
  return { database, source: byside[source], target: byside[source === 'local' ? 'peer' : 'local'], pgPort: 5432, versions: { local: me.version, peer: peer.version } };
}

async function configure(agents: Agents, f: PairFacts, pre: Preflight, o: SetupOptions): Promise<void> {
  const listen: Partial<Record<Side, string>> = {};
  for (const n of [f.source, f.target]) {
    const wider = listenFor(pre.pg[n.side].settings['listen_addresses'], n.address);
    if (wider) listen[n.side] = wider;
  }
  const restarts: Array<{ side: Side; node: string; journalId?: string }> = [];
  for (const step of configureSteps(f, listen, o.maxSlotWalKeepSize)) {
    const r = await runChange(agents, step, o);
    if (step.action === 'pg-settings' && r.restartNeeded) restarts.push({ side: step.side, node: step.node, ...(r.journalId ? { journalId: r.journalId } : {}) });
  }
  if (o.dryRun) return void restarts.forEach((n) => o.report('would', n.node, 'pg-service: restart PostgreSQL'));
  await Promise.all(restarts.map((n) => atStep(`pg-service restart on ${n.node}`, async () => {
    await agents.call(n.side, 'pg-service.restart', n.journalId ? { restoreJournalId: n.journalId } : {}, { timeoutMs: 300_000 });
    o.report('changed', n.node, 'pg-service: restarted PostgreSQL for the new settings');
  })));
  await Promise.all([[f.target, f.source], [f.source, f.target]].map(([from, to]) => atStep(`reach from ${from!.node} to ${to!.node}`, async () => {
    const r = await agents.call<{ reachable: boolean; ms: number; error?: string }>(from!.side, 'pg-reach', { host: to!.address, port: f.pgPort });
    if (!r.reachable) {
      throw new PgduplexError('PG_UNREACHABLE', `${from!.node} cannot reach PostgreSQL on ${to!.node} at ${to!.address}:${f.pgPort}: ${r.error ?? 'unknown'}`, {
        hint: `check listen_addresses on ${to!.node} and any firewall between the nodes, then re-run pgduplex setup`,
      });
    }
    o.report('ok', from!.node, `reach: PostgreSQL on ${to!.node} (${to!.address}:${f.pgPort}) answers in ${r.ms} ms`);
  })));
}

async function credentials(agents: Agents, f: PairFacts, o: SetupOptions): Promise<void> {
  const status = await atStep('credentials', () => Promise.all([f.source, f.target].map((n) => agents.call<{ roleExists: boolean; passfileHasPeer: boolean }>(n.side, 'credentials.status', { role: REPL_ROLE, peer: { host: (n === f.source ? f.target : f.source).address, port: f.pgPort, database: f.database } }))));
  if (status.every((s) => s.roleExists && s.passfileHasPeer)) return void o.report('ok', `${f.source.node}+${f.target.node}`, 'credentials: replication role and passfiles in place');
  const password = randomBytes(24).toString('base64url');
  for (const step of credentialSteps(f, password)) await runChange(agents, step, o);
}

/** `pgduplex setup`: preflight, configure both nodes, credentials, bootstrap, publish, subscribe, verify. */
export async function setup(agents: Agents, given: SetupOptions): Promise<SetupResult> {
  let changed = false;
  const o: SetupOptions = { ...given, report: (status, node, what) => ((changed ||= status === 'changed'), given.report(status, node, what)) };
  const f = await atStep('the pairing check', () => pairFacts(agents, o.database, o.source));
  const pre = await atStep('preflight', () => preflight(agents, f, { remedy: o.keyless, report: o.report }, f.versions));
  const boot = await atStep('preflight', () => planBootstrap(agents, f, pre.hazards, o));
  if (boot.kind !== 'subscribed') checkRoom(f, pre, o.report);
  const extensions = extensionStep(f, pre.hazards.extensions);
  // A target that cannot have the schema's extensions as the source has them is refused before anything changes.
  if (boot.kind !== 'subscribed') await atStep('preflight', () => agents.call(extensions.side, 'extensions.check', extensions.params));
  await configure(agents, f, pre, o);
  await credentials(agents, f, o);
  const identity = (n: PairFacts['source']) => runChange(agents, { side: n.side, node: n.node, action: 'replica-identity', params: { database: f.database, tables: keylessTables(pre.keyless) } }, o);
  const fullIdentity = o.keyless === 'replica-identity-full' && pre.keyless.length > 0;
  if (fullIdentity) await identity(f.source);
  // Created by the target's own statements, apart from the replay of the source's dump, which leaves them be.
  if (boot.kind !== 'subscribed') await runChange(agents, extensions, o);
  const backup = await bootstrapTarget(agents, f, o, boot);
  if (fullIdentity && !(o.dryRun && boot.kind !== 'kept' && boot.kind !== 'subscribed')) await identity(f.target);
  await runChange(agents, sequenceStep(f, f.source, 1), o);
  for (const step of publishSteps(f, pre.tables)) await runChange(agents, step, o);
  // Binary transfer is faster, and safe when both servers share a major version and every column type has binary I/O.
  const major = (side: Side) => Math.floor(pre.pg[side].serverVersionNum / 10000);
  const binary = major('local') === major('peer') && pre.hazards.typesWithoutBinary.length === 0;
  const subscribe = async (on: PairFacts['source'], from: PairFacts['source'], copy: boolean) => {
    await atStep(`subscription on ${on.node}`, () => dropOrphanSlot(agents, f, on, from, o));
    await runChange(agents, subscriptionStep(f, on, from, copy, binary), o);
  };
  await subscribe(f.target, f.source, boot.kind !== 'subscribed');
  if (!o.dryRun) await atStep(`the initial copy to ${f.target.node}`, () => waitForCopy(agents, f, o, pre.hazards.tableBytes));
  // Only now does the target hold the source's keys, so its sequences can start above them.
  if (o.dryRun && (boot.kind === 'import' || boot.kind === 'replace')) o.report('would', f.target.node, 'sequences: even values above the copied keys, once the copy is done');
  else await runChange(agents, sequenceStep(f, f.target, 2), o);
  await subscribe(f.source, f.target, false);
  if (o.dryRun) return {};
  const excluded = o.keyless === 'exclude' ? pre.keyless : [];
  // A run that changed nothing, after a full compare that passed since the last change, copied nothing:
  // comparing every row again is what `pgduplex verify` is for. An interrupted verify passed nothing.
  const verify = await atStep('verify', async () => {
    const lastComparedAt = changed || o.fullVerify === true ? null : await contentsVerifiedAt(agents, f);
    return verifyPair(agents, f, o.report, excluded, lastComparedAt === null ? { contents: true } : { contents: false, lastComparedAt });
  });
  return { verify, ...(backup ? { backup } : {}) };
}
