import { toPgduplexError } from '../../shared/errors.js';
import {
  PGDUPLEX_OBJECT_PREFIX,
  slotLagSeconds,
  type ReplicationHealth,
  type ReplicationSnapshot,
} from '../../shared/replication.js';
import { resolveCluster } from '../postgres/cluster.js';
import { replicationStatusSql } from '../postgres/replication-sql.js';
import { queryJsonFor } from '../postgres/server-version.js';

/** The replication snapshot as the health cache holds it: a failure is a value too, so it is cached like one. */
export type ReplicationProbe = { ok: true; snapshot: ReplicationSnapshot } | { ok: false; reason: string };

/** Reads the local cluster's replication facts; any failure becomes the reason. */
export async function probeReplication(
  wanted: { version: string; cluster: string } | undefined,
  timeoutMs: number,
): Promise<ReplicationProbe> {
  try {
    return {
      ok: true,
      snapshot: await queryJsonFor<ReplicationSnapshot>(await resolveCluster(wanted), replicationStatusSql, {
        timeoutMs,
      }),
    };
  } catch (err) {
    return { ok: false, reason: toPgduplexError(err).message };
  }
}

/** Summarises pgduplex's subscriptions and slots for /health; never a conninfo, so never a secret. */
export function replicationHealth(probe: ReplicationProbe, peer: string | undefined): ReplicationHealth {
  if (!probe.ok) return { ok: false, reason: probe.reason, subscriptions: [], slots: [] };
  const ours = <T extends { name: string }>(xs: T[]) => xs.filter((x) => x.name.startsWith(PGDUPLEX_OBJECT_PREFIX));
  return {
    ok: true,
    subscriptions: ours(probe.snapshot.subscriptions).map((s) => ({
      name: s.name,
      from: peer ?? null,
      enabled: s.enabled,
      streaming: s.workerPid !== null,
      applyErrors: s.applyErrors,
      syncErrors: s.syncErrors,
      syncSeqErrors: s.syncSeqErrors ?? null,
      conflicts: s.conflicts,
      lastMessageAt: s.lastMessageReceiptTime,
    })),
    slots: ours(probe.snapshot.slots).map((s) => ({
      name: s.name,
      to: peer ?? null,
      active: s.active,
      lagBytes: s.lagBytes,
      lagSeconds: slotLagSeconds(s),
      retainedBytes: s.retainedBytes,
      walStatus: s.walStatus,
      safeWalSizeBytes: s.safeWalSizeBytes,
    })),
  };
}

/** Why /health/ready?max_lag_bytes=N fails, or undefined when every slot of this node is within N bytes. */
export function lagReadiness(h: ReplicationHealth, maxLagBytes: number): string | undefined {
  if (!h.ok) return `replication state unknown: ${h.reason ?? 'no answer'}`;
  const behind = h.slots.filter((s) => s.lagBytes === null || s.lagBytes > maxLagBytes);
  if (behind.length === 0) return undefined;
  return behind
    .map(
      (s) =>
        `${s.to ?? 'the peer'} has not confirmed ${s.lagBytes ?? 'an unknown number of'} bytes ` +
        `of this node's changes (slot ${s.name}; limit ${maxLagBytes})`,
    )
    .join('; ');
}
