import { describe, expect, it } from 'vitest';
import type {
  ReplicationLogError,
  ReplicationSnapshot,
  SlotFacts,
  SubscriptionFacts,
} from '../../../shared/replication.js';
import type { NodeView, PairView } from '../../../coordinator/status/gather.js';
import { assessPair, STATUS_EXIT } from '../../../coordinator/status/verdict.js';

const T = { maxLagBytes: 64 * 1024 * 1024, maxLagSeconds: 300 };
const slot = (name: string, o: Partial<SlotFacts> = {}): SlotFacts => ({
  name,
  database: 'fusionpbx',
  active: true,
  walStatus: 'reserved',
  confirmedFlushLsn: '0/2000',
  retainedBytes: 56,
  lagBytes: 0,
  safeWalSizeBytes: 10 * 2 ** 30,
  inactiveSeconds: null,
  replayLagSeconds: 0.01,
  senderState: 'streaming',
  ...o,
});
const sub = (name: string, o: Partial<SubscriptionFacts> = {}): SubscriptionFacts => ({
  name,
  database: 'fusionpbx',
  enabled: true,
  slot: name,
  origin: 'pg_16410',
  originLsn: '0/1000',
  skipLsn: null,
  workerPid: 700,
  syncWorkers: 0,
  lastMessageSendTime: null,
  lastMessageReceiptTime: '2026-11-23T04:00:00Z',
  applyErrors: 0,
  syncErrors: 0,
  conflicts: null,
  tables: { r: 3 },
  ...o,
});
const snap = (o: Partial<ReplicationSnapshot>): ReplicationSnapshot => ({
  serverVersionNum: 170006,
  walLsn: '0/2000',
  maxSlotWalKeepSize: '10GB',
  maxSlotWalKeepSizeBytes: 10 * 2 ** 30,
  slots: [],
  senders: [],
  subscriptions: [],
  ...o,
});
const node = (
  name: string,
  other: string,
  o: { slot?: Partial<SlotFacts>; sub?: Partial<SubscriptionFacts>; errors?: ReplicationLogError[] } = {},
): NodeView => ({
  node: name,
  agentReachable: true,
  errors: o.errors ?? [],
  snapshot: snap({
    slots: [slot(`pgduplex_from_${name}`, o.slot)],
    subscriptions: [sub(`pgduplex_from_${other}`, o.sub)],
  }),
});
const pair = (a: NodeView, b: NodeView, v: [string | null, string | null] = ['0.2.0', '0.2.0']): PairView => ({
  database: 'fusionpbx',
  local: a,
  peer: b,
  versions: [
    { node: a.node, version: v[0] },
    { node: b.node, version: v[1] },
  ],
});
const conflict: ReplicationLogError = {
  at: '2026-11-23T04:39:35.226Z',
  subscription: 'pgduplex_from_a',
  origin: 'pg_16410',
  worker: 'apply',
  message: 'duplicate key value violates unique constraint "jobs_pkey"',
  detail: 'Key (id)=(1000) already exists.',
  table: 'public.jobs',
  key: '(id)=(1000)',
  finishLsn: '0/199E3C8',
};

describe('assessPair', () => {
  it('says plainly what works while the agents run different versions, and stays healthy', () => {
    const r = assessPair(pair(node('a', 'b'), node('b', 'a'), ['0.2.0', '0.1.0']), T);
    expect(r.verdict).toBe('healthy');
    expect(r.agents).toEqual([
      { node: 'a', version: '0.2.0' },
      { node: 'b', version: '0.1.0' },
    ]);
    expect(r.versionNote).toBe(
      'the agents run different pgduplex versions (a 0.2.0, b 0.1.0): ' +
        'replication keeps running, status and teardown work; ' +
        'setup refuses until both run 0.2.0: upgrade the .deb on b (apt install ./pgduplex_0.2.0_all.deb)',
    );
    expect(assessPair(pair(node('a', 'b'), node('b', 'a')), T).versionNote).toBeNull();
    expect(assessPair(pair(node('a', 'b'), node('b', 'a'), ['0.2.0', null]), T).versionNote).toBeNull();
  });

  it("points a pair FS PBX's script replicates at setup --adopt, naming the script's subscription", () => {
    const script = (name: string, other: string): NodeView => ({
      node: name,
      agentReachable: true,
      errors: [],
      snapshot: snap({
        slots: [slot(`fspbx_subscription_${name}_to_${other}`)],
        subscriptions: [sub(`fspbx_subscription_${other}_to_${name}`)],
      }),
    });
    const r = assessPair(pair(script('a', 'b'), script('b', 'a')), T);
    expect(r.verdict).toBe('degraded');
    const [ab] = r.directions;
    expect(ab!.problems[0]!.text).toContain(
      'there is no subscription pgduplex_from_a on b; it has fspbx_subscription_a_to_b, which pgduplex did not make',
    );
    expect(ab!.remedies.map((x) => x.command)).toEqual(['pgduplex setup --adopt']);
  });

  it('reports published tables a subscription lacks, with the refresh that copies them', () => {
    const a = node('a', 'b');
    a.snapshot = { ...a.snapshot!, published: ['public.call_tags', 'public.v_domains'] };
    const b = node('b', 'a', { sub: { relations: ['public.v_domains'] } });
    const r = assessPair(pair(a, b), T);
    const [ab] = r.directions;
    expect(ab!.verdict).toBe('degraded');
    expect(ab!.problems.map((p) => p.text)).toContain(
      "1 table a publishes is not in b's subscription, so b skips their changes: public.call_tags",
    );
    expect(ab!.remedies[0]!.command).toContain('REFRESH PUBLICATION WITH (copy_data = true)');
    const old = assessPair(pair(a, node('b', 'a')), T);
    expect(old.directions[0]!.verdict).toBe('healthy');
  });

  it('diagnoses a missing column or table as schema drift, never offering SKIP', () => {
    const drifted = (message: string) =>
      assessPair(
        pair(
          node('a', 'b'),
          node('b', 'a', {
            sub: { originLsn: '0/1000', applyErrors: 3 },
            errors: [{ ...conflict, message, detail: null, table: null, key: null }],
          }),
        ),
        T,
      ).directions[0]!;
    const col = drifted(
      'logical replication target relation "public.v_extensions" is missing replicated column: "pbx_region"',
    );
    expect(col.verdict).toBe('broken');
    expect(col.problems.map((p) => p.text).join('\n')).toContain(
      "schema drift: a sends changes that need its schema, and b's public.v_extensions lacks the column pbx_region",
    );
    expect(col.remedies.map((x) => x.command).join(' ')).not.toMatch(/SKIP/);
    expect(col.remedies[0]).toMatchObject({ node: 'a', command: 'pgduplex migrate --sync-schema' });
    expect(col.remedies[1]).toMatchObject({ node: 'a', command: expect.stringContaining('pg_dump --schema-only') });
    const table = drifted('logical replication target relation "public.call_tags" does not exist');
    expect(table.problems.map((p) => p.text).join('\n')).toContain('b has no table public.call_tags');
    expect(table.remedies.map((x) => x.command)[2]).toContain('REFRESH PUBLICATION WITH (copy_data = true)');
    const two = drifted('logical replication target relation "public.t" is missing replicated columns: "a", "b c"');
    expect(two.problems.map((p) => p.text).join('\n')).toContain('lacks the columns a, b c');
  });

  it('calls a streaming pair with both subscriptions and slots healthy, naming each direction', () => {
    const r = assessPair(pair(node('a', 'b'), node('b', 'a')), T);
    expect(r.verdict).toBe('healthy');
    expect(r.directions.map((d) => [d.from, d.to, d.subscription, d.verdict])).toEqual([
      ['a', 'b', 'pgduplex_from_a', 'healthy'],
      ['b', 'a', 'pgduplex_from_b', 'healthy'],
    ]);
    expect(r.directions[0]?.publisher).toMatchObject({
      lagBytes: 0,
      lagSeconds: 0,
      retainedBytes: 56,
      walStatus: 'reserved',
    });
    expect(STATUS_EXIT[r.verdict]).toBe(0);
  });

  it("says degraded when the peer's PostgreSQL is down, with the WAL held for it and the room left", () => {
    const b: NodeView = {
      node: 'b',
      agentReachable: true,
      problem: 'PostgreSQL does not answer (not accepting connections)',
      errors: [],
    };
    const r = assessPair(
      pair(
        node('a', 'b', {
          slot: {
            active: false,
            retainedBytes: 3 * 2 ** 20,
            lagBytes: 3 * 2 ** 20,
            inactiveSeconds: 42,
            safeWalSizeBytes: 2 * 2 ** 30,
          },
        }),
        b,
      ),
      T,
    );
    expect(r.verdict).toBe('degraded');
    const ab = r.directions[0];
    expect(ab?.verdict).toBe('degraded');
    expect(ab?.problems.map((p) => p.text).join('\n')).toMatch(
      /a holds 3\.0 MiB of WAL for it \(not confirmed for 42s\); 2\.0 GiB more WAL may be written before max_slot_wal_keep_size \(10\.0 GiB\) gives the slot up/,
    );
    expect(r.directions[1]?.problems[0]?.text).toContain('b: PostgreSQL does not answer');
    expect(STATUS_EXIT[r.verdict]).toBe(3);
  });

  it('says how the WAL grows when max_slot_wal_keep_size is unlimited', () => {
    const a = node('a', 'b', { slot: { active: false, safeWalSizeBytes: null } });
    a.snapshot = { ...(a.snapshot as ReplicationSnapshot), maxSlotWalKeepSizeBytes: null };
    expect(assessPair(pair(a, node('b', 'a')), T).directions[0]?.problems[0]?.text).toContain('unlimited');
  });

  it('reports the local side and degraded when the peer agent is unreachable', () => {
    const b: NodeView = { node: 'b', agentReachable: false, problem: 'agent unreachable (no answer)', errors: [] };
    const r = assessPair(pair(node('a', 'b'), b), T);
    expect(r.verdict).toBe('degraded');
    expect(r.peer).toEqual({ node: 'b', reachable: false, problem: 'agent unreachable (no answer)' });
    expect(r.directions[1]?.subscriber).toMatchObject({ enabled: true, streaming: true });
  });

  it('calls a subscription stuck on a conflict broken, with table, key and both remedies on the subscriber', () => {
    const b = node('b', 'a', { sub: { workerPid: null, applyErrors: 6, originLsn: '0/199E000' }, errors: [conflict] });
    const r = assessPair(pair(node('a', 'b', { slot: { active: false, lagBytes: 8192, inactiveSeconds: 4 } }), b), T);
    const ab = r.directions[0];
    expect(r.verdict).toBe('broken');
    expect(ab?.verdict).toBe('broken');
    expect(ab?.problems.find((p) => p.verdict === 'broken')?.text).toMatch(
      /table public\.jobs, key \(id\)=\(1000\).*finished at 0\/199E3C8/,
    );
    expect(ab?.remedies.map((m) => m.node)).toEqual(['b', 'b']);
    expect(ab?.remedies[0]?.command).toBe(
      `runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -d fusionpbx -c "ALTER SUBSCRIPTION \\"pgduplex_from_a\\" SKIP (lsn = '0/199E3C8')"`,
    );
    expect(ab?.remedies[1]?.command).toContain(`DELETE FROM \\"public\\".\\"jobs\\" WHERE \\"id\\" = '1000'`);
    expect(STATUS_EXIT.broken).toBe(4);
  });

  it('no longer calls it broken once the origin has moved past the failed transaction (skipped or applied)', () => {
    const b = node('b', 'a', { sub: { applyErrors: 6, originLsn: '0/199E3F8' }, errors: [conflict] });
    expect(assessPair(pair(node('a', 'b'), b), T).verdict).toBe('healthy');
  });

  it('ignores an old error of an earlier subscription with the same name but another origin', () => {
    const b = node('b', 'a', { sub: { origin: 'pg_16999', originLsn: null }, errors: [conflict] });
    expect(assessPair(pair(node('a', 'b'), b), T).verdict).toBe('healthy');
  });

  it('says degraded while a requested skip waits for the worker', () => {
    const b = node('b', 'a', { sub: { originLsn: '0/1', skipLsn: '0/199E3C8' }, errors: [conflict] });
    expect(assessPair(pair(node('a', 'b'), b), T).directions[0]?.problems[0]?.text).toContain('is skipping');
  });

  it('offers only the skip for an error that is not a key conflict', () => {
    const b = node('b', 'a', {
      sub: { originLsn: '0/1' },
      errors: [{ ...conflict, message: 'null value in column "x" violates not-null constraint', key: null }],
    });
    expect(assessPair(pair(node('a', 'b'), b), T).directions[0]?.remedies).toHaveLength(1);
  });

  it('says degraded for a disabled subscription and gives the command to enable it', () => {
    const r = assessPair(pair(node('a', 'b'), node('b', 'a', { sub: { enabled: false, workerPid: null } })), T);
    expect(r.directions[0]?.verdict).toBe('degraded');
    expect(r.directions[0]?.remedies[0]).toMatchObject({
      node: 'b',
      command: expect.stringContaining('ALTER SUBSCRIPTION \\"pgduplex_from_a\\" ENABLE'),
    });
  });

  it('says degraded for lag over a limit and during an initial copy', () => {
    expect(
      assessPair(pair(node('a', 'b', { slot: { lagBytes: 100 * 2 ** 20 } }), node('b', 'a')), T).directions[0]
        ?.problems[0]?.text,
    ).toBe('b is 100.0 MiB (0s) behind a');
    expect(
      assessPair(pair(node('a', 'b', { slot: { lagBytes: 10, replayLagSeconds: 301 } }), node('b', 'a')), T).verdict,
    ).toBe('degraded');
    expect(
      assessPair(pair(node('a', 'b'), node('b', 'a', { sub: { tables: { r: 1, d: 2 } } })), T).directions[0]
        ?.problems[0]?.text,
    ).toBe('initial copy: 1/3 tables ready on b');
  });

  it('calls a lost slot and a missing subscription broken', () => {
    expect(
      assessPair(pair(node('a', 'b', { slot: { walStatus: 'lost', active: false } }), node('b', 'a')), T).directions[0]
        ?.verdict,
    ).toBe('broken');
    const b = node('b', 'a');
    b.snapshot = { ...(b.snapshot as ReplicationSnapshot), subscriptions: [] };
    const r = assessPair(pair(node('a', 'b'), b), T);
    expect(r.directions[0]).toMatchObject({
      verdict: 'broken',
      remedies: [expect.objectContaining({ command: 'pgduplex setup' })],
    });
  });

  it('calls it broken when neither node could be read', () => {
    const down = (n: string): NodeView => ({
      node: n,
      agentReachable: true,
      problem: 'PostgreSQL does not answer',
      errors: [],
    });
    expect(assessPair(pair(down('a'), down('b')), T).verdict).toBe('broken');
  });
});
