import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../../agent/health/metrics.js';
import { lagReadiness } from '../../../agent/health/replication.js';
import { readyQuery } from '../../../agent/http/routes.js';
import { PgduplexError } from '../../../shared/errors.js';
import type { ReplicationHealth } from '../../../shared/replication.js';

const health: ReplicationHealth = {
  ok: true,
  subscriptions: [
    {
      name: 'pgduplex_from_b',
      from: 'b',
      enabled: true,
      streaming: false,
      applyErrors: 3,
      syncErrors: 0,
      conflicts: { insert_exists: 2 },
      lastMessageAt: null,
    },
  ],
  slots: [
    {
      name: 'pgduplex_from_a',
      to: 'b',
      active: true,
      lagBytes: 4096,
      lagSeconds: null,
      retainedBytes: 8192,
      walStatus: 'reserved',
      safeWalSizeBytes: 1000,
    },
  ],
};

describe('renderMetrics', () => {
  const input: Parameters<typeof renderMetrics>[0] = {
    version: '0.1.0',
    node: 'a"\\',
    postgresUp: true,
    probeAgeSeconds: 0.4,
    replication: health,
    outcomes: [['setup', { ok: false, at: 1_700_000_000_400 }]],
  };
  const text = renderMetrics(input);

  it('writes each family with HELP and TYPE, direction labels and escaped label values', () => {
    expect(text).toContain(
      '# TYPE pgduplex_replication_lag_bytes gauge\npgduplex_replication_lag_bytes{slot="pgduplex_from_a",from="a\\"\\\\",to="b"} 4096\n',
    );
    expect(text).toContain('pgduplex_slot_retained_wal_bytes{slot="pgduplex_from_a",from="a\\"\\\\",to="b"} 8192');
    expect(text).toContain(
      '# TYPE pgduplex_subscription_apply_errors_total counter\npgduplex_subscription_apply_errors_total{subscription="pgduplex_from_b",from="b",to="a\\"\\\\"} 3',
    );
    expect(text).toContain(
      'pgduplex_subscription_conflicts_total{subscription="pgduplex_from_b",from="b",to="a\\"\\\\",conflict="insert_exists"} 2',
    );
    expect(text).toContain('pgduplex_agent_info{version="0.1.0",node="a\\"\\\\"} 1');
    expect(text).toContain('pgduplex_action_last_success{action="setup"} 0\n');
    expect(text).toContain('pgduplex_action_last_run_timestamp_seconds{action="setup"} 1700000000\n');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('counts peer websocket upgrades by what became of them', () => {
    const withPeer = renderMetrics({ ...input, peerConnections: { refused: 7, busy: 1, handshakes: 2 } });
    expect(withPeer).toContain(
      '# TYPE pgduplex_peer_connections_total counter\npgduplex_peer_connections_total{outcome="refused"} 7\n' +
        'pgduplex_peer_connections_total{outcome="busy"} 1\npgduplex_peer_connections_total{outcome="handshakes"} 2\n',
    );
  });

  it('leaves out a value it does not know rather than inventing one', () => {
    expect(text).toContain('# TYPE pgduplex_replication_lag_seconds gauge\n# HELP');
  });

  it('emits what each major counts: no conflict or sequence sync series before 18/19, both split out on 19', () => {
    const sub = health.subscriptions[0]!;
    const on = (o: Partial<typeof sub>) =>
      renderMetrics({ ...input, replication: { ...health, subscriptions: [{ ...sub, ...o }] } });
    const pg17 = on({ conflicts: null, syncSeqErrors: null });
    expect(pg17).not.toMatch(/^pgduplex_subscription_conflicts_total\{/m);
    expect(pg17).not.toMatch(/^pgduplex_subscription_sync_seq_errors_total\{/m);
    expect(pg17).toMatch(/^pgduplex_subscription_sync_errors_total\{.*\} 0$/m);
    const pg19 = on({ syncErrors: 4, syncSeqErrors: 5, conflicts: { update_deleted: 6 } });
    expect(pg19).toMatch(/^pgduplex_subscription_sync_errors_total\{.*\} 4$/m);
    expect(pg19).toMatch(/^pgduplex_subscription_sync_seq_errors_total\{subscription="pgduplex_from_b".*\} 5$/m);
    expect(pg19).toMatch(/^pgduplex_subscription_conflicts_total\{.*conflict="update_deleted"\} 6$/m);
  });

  it('says so when the replication facts could not be read', () => {
    const down = renderMetrics({
      version: '0.1.0',
      node: 'a',
      postgresUp: false,
      probeAgeSeconds: 3,
      replication: { ok: false, reason: 'x', subscriptions: [], slots: [] },
      outcomes: [],
    });
    expect(down).toContain('pgduplex_postgresql_up 0\n');
    expect(down).toContain('pgduplex_replication_state_known 0\n');
    expect(down).toContain('pgduplex_postgresql_probe_age_seconds 3\n');
  });
});

describe('/health/ready lag', () => {
  it('accepts only max_lag_bytes as one whole number', () => {
    expect(readyQuery(new URLSearchParams(''))).toEqual({});
    expect(readyQuery(new URLSearchParams('max_lag_bytes=0'))).toEqual({ maxLagBytes: 0 });
    for (const bad of [
      'max_lag_bytes=-1',
      'max_lag_bytes=1e3',
      'max_lag_bytes=',
      'max_lag_bytes=1&max_lag_bytes=2',
      'max_lag_byte=1',
      'max_lag_bytes=9999999999999999',
    ]) {
      const r = readyQuery(new URLSearchParams(bad));
      expect(r, bad).toBeInstanceOf(PgduplexError);
      expect((r as PgduplexError).code).toBe('BAD_PARAMS');
    }
  });

  it('fails while a slot lags more than allowed, or when the lag is unknown', () => {
    expect(lagReadiness(health, 4096)).toBeUndefined();
    expect(lagReadiness(health, 1)).toBe(
      "b has not confirmed 4096 bytes of this node's changes (slot pgduplex_from_a; limit 1)",
    );
    expect(lagReadiness({ ok: false, reason: 'PostgreSQL down', subscriptions: [], slots: [] }, 1)).toContain(
      'unknown',
    );
  });
});
