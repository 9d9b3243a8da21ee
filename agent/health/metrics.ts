import type { ReplicationHealth } from '../../shared/replication.js';
import type { ActionOutcome } from '../actions/outcomes.js';
import type { WatchState } from '../../shared/protocol/watch.js';

/** What /metrics renders: all of it from the health caches and the action outcomes, no query of its own. */
export interface MetricsInput {
  version: string;
  node: string;
  postgresUp: boolean;
  /** Seconds since the PostgreSQL probe behind postgresUp started (the answer is cached). */
  probeAgeSeconds: number;
  replication: ReplicationHealth;
  outcomes: Array<[string, ActionOutcome]>;
  /** Peer websocket upgrades by what became of them: refused before any crypto, busy, or handshaken. */
  peerConnections?: { refused: number; busy: number; handshakes: number };
  /** The divergence watch's last recorded results (null: no round yet, its families carry no sample). */
  watch?: WatchState | null;
}

type Labels = Record<string, string | null>;
type Sample = { labels?: Labels; value: number | null };

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labelText(labels: Labels | undefined): string {
  const parts = Object.entries(labels ?? {})
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** One metric family in the text exposition format; samples without a value are left out, not faked. */
function family(name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): string {
  const lines = samples
    .filter((s): s is Sample & { value: number } => s.value !== null)
    .map((s) => `${name}${labelText(s.labels)} ${s.value}`);
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join('\n');
}

/** Renders the agent's metrics in Prometheus' text format (version 0.0.4). */
export function renderMetrics(m: MetricsInput): string {
  const slots = m.replication.slots.map((s) => ({ s, labels: { slot: s.name, from: m.node, to: s.to } }));
  const subs = m.replication.subscriptions.map((s) => ({
    s,
    labels: { subscription: s.name, from: s.from, to: m.node },
  }));
  const flag = (b: boolean) => (b ? 1 : 0);
  return `${[
    family('pgduplex_agent_info', 'gauge', 'The agent version and node name (always 1).', [
      { labels: { version: m.version, node: m.node }, value: 1 },
    ]),
    family('pgduplex_up', 'gauge', 'Whether the agent answers (always 1 when scraped).', [{ value: 1 }]),
    family('pgduplex_postgresql_up', 'gauge', 'Whether the local PostgreSQL answers.', [{ value: flag(m.postgresUp) }]),
    family(
      'pgduplex_postgresql_probe_age_seconds',
      'gauge',
      'Seconds since the PostgreSQL probe behind pgduplex_postgresql_up started.',
      [{ value: m.probeAgeSeconds }],
    ),
    family('pgduplex_replication_state_known', 'gauge', 'Whether the replication facts below could be read.', [
      { value: flag(m.replication.ok) },
    ]),
    family(
      'pgduplex_replication_lag_bytes',
      'gauge',
      "Bytes of this node's WAL the subscriber has not confirmed, per direction.",
      slots.map(({ s, labels }) => ({ labels, value: s.lagBytes })),
    ),
    family(
      'pgduplex_replication_lag_seconds',
      'gauge',
      'Replay lag of the direction while connected, else seconds since the subscriber last confirmed.',
      slots.map(({ s, labels }) => ({ labels, value: s.lagSeconds })),
    ),
    family(
      'pgduplex_slot_active',
      'gauge',
      'Whether the subscriber is connected to the slot.',
      slots.map(({ s, labels }) => ({ labels, value: flag(s.active) })),
    ),
    family(
      'pgduplex_slot_retained_wal_bytes',
      'gauge',
      'WAL this node keeps for the slot.',
      slots.map(({ s, labels }) => ({ labels, value: s.retainedBytes })),
    ),
    family(
      'pgduplex_slot_safe_wal_size_bytes',
      'gauge',
      'WAL that may still be written before max_slot_wal_keep_size gives the slot up.',
      slots.map(({ s, labels }) => ({ labels, value: s.safeWalSizeBytes })),
    ),
    family(
      'pgduplex_subscription_enabled',
      'gauge',
      'Whether the subscription on this node is enabled.',
      subs.map(({ s, labels }) => ({ labels, value: flag(s.enabled) })),
    ),
    family(
      'pgduplex_subscription_streaming',
      'gauge',
      "Whether the subscription's apply worker runs.",
      subs.map(({ s, labels }) => ({ labels, value: flag(s.streaming) })),
    ),
    family(
      'pgduplex_subscription_apply_errors_total',
      'counter',
      'Errors while applying changes (pg_stat_subscription_stats).',
      subs.map(({ s, labels }) => ({ labels, value: s.applyErrors })),
    ),
    family(
      'pgduplex_subscription_sync_errors_total',
      'counter',
      'Errors during the initial table copy (sync_error_count; sync_table_error_count on PostgreSQL 19).',
      subs.map(({ s, labels }) => ({ labels, value: s.syncErrors })),
    ),
    family(
      'pgduplex_subscription_sync_seq_errors_total',
      'counter',
      'Errors while synchronizing sequences (PostgreSQL 19 and later).',
      subs.flatMap(({ s, labels }) =>
        s.syncSeqErrors === null || s.syncSeqErrors === undefined ? [] : [{ labels, value: s.syncSeqErrors }],
      ),
    ),
    family(
      'pgduplex_subscription_conflicts_total',
      'counter',
      'Conflicts by type (PostgreSQL 18 and later).',
      subs.flatMap(({ s, labels }) =>
        Object.entries(s.conflicts ?? {}).map(([conflict, value]) => ({ labels: { ...labels, conflict }, value })),
      ),
    ),
    family(
      'pgduplex_action_last_success',
      'gauge',
      'Whether the last run of each action succeeded.',
      m.outcomes.map(([action, o]) => ({ labels: { action }, value: flag(o.ok) })),
    ),
    family(
      'pgduplex_action_last_run_timestamp_seconds',
      'gauge',
      'When each action last ran (Unix time).',
      m.outcomes.map(([action, o]) => ({ labels: { action }, value: Math.round(o.at / 1000) })),
    ),
    family(
      'pgduplex_peer_connections_total',
      'counter',
      'Peer websocket upgrades: refused by address before any crypto, busy (pending caps), or handshaken.',
      Object.entries(m.peerConnections ?? {}).map(([outcome, value]) => ({ labels: { outcome }, value })),
    ),
    ...watchFamilies(m.watch ?? null),
  ].join('\n')}\n`;
}

const seconds = (iso: string | null | undefined) => (iso ? Math.round(Date.parse(iso) / 1000) : null);

/** The divergence watch's results: what differs, when each table was last seen equal, how far its pass is. */
function watchFamilies(w: WatchState | null): string[] {
  const tables = Object.entries(w?.tables ?? {});
  const one = (value: number | null): Sample[] => (w ? [{ value }] : []);
  return [
    family(
      'pgduplex_divergent_tables',
      'gauge',
      "Tables whose rows differed between the nodes, after the lag drained, in the watch's last walk of each.",
      one(tables.filter(([, t]) => t.differing > 0).length),
    ),
    family(
      'pgduplex_divergent_rows_sampled',
      'gauge',
      'Differing rows the watch sampled (keys kept for status), over all tables.',
      one(tables.reduce((n, [, t]) => n + t.sample.length, 0)),
    ),
    family(
      'pgduplex_last_equal_timestamp_seconds',
      'gauge',
      'When the watch last found the table equal on both nodes (Unix time).',
      tables.map(([table, t]) => ({ labels: { table }, value: seconds(t.lastEqualAt) })),
    ),
    family(
      'pgduplex_watch_last_round_timestamp_seconds',
      'gauge',
      'When the divergence watch last ran a round (Unix time).',
      one(seconds(w?.lastRoundAt)),
    ),
    family(
      'pgduplex_watch_unsettled_tables',
      'gauge',
      'Tables whose differing rows the watch could not judge yet: the lag between the nodes did not drain (1 or 0).',
      one(w?.unsettled ? 1 : 0),
    ),
    family(
      'pgduplex_watch_pass_progress_ratio',
      'gauge',
      'How far the watch is through its current pass over all tables (0 to 1).',
      one(w && w.tablesTotal > 0 ? w.tablesDone / w.tablesTotal : null),
    ),
  ];
}
