import type { AgentServices } from './context.js';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { parseHostAddress } from '../firewall/address.js';
import { containedPath } from '../files/contained.js';
import { restoreFile, snapshotFile, writeFileAtomic, type FileSnapshot } from '../files/owned-file.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { followedPath } from '../state/cluster-follow.js';
import {
  existingBlock,
  hbaBlockLines,
  hbaRuleLines,
  placeBlock,
  removeBlock,
  rulesOf,
  type HbaBlockSpec,
} from '../postgres/hba-block.js';
import { hbaErrors, hbaFileRules, hbaServerState, reloadAndWait, verifyBlockRules } from '../postgres/hba-rules.js';
import { plannedChange } from './change.js';
import { pgHbaChange } from '../../shared/protocol/postgres.js';
import type { Rollback } from '../state/journal.js';

const MAX_HBA_BYTES = 1024 * 1024;

type Params = z.output<typeof pgHbaChange.params>;

interface Plan {
  cluster: Cluster;
  ssl: boolean;
  spec: HbaBlockSpec;
  snap: FileSnapshot & { content: string };
  next: { text: string; ruleLines: number[] };
  changes: string[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const compact = (rule: string) => rule.replace(/\s+/g, ' ').trim();

/**
 * `pg-hba`: one marked block per peer in the cluster's pg_hba.conf allowing the replication role in
 * over TLS with scram-sha-256 from the peer's address only, placed ahead of any rule that could match
 * first. PostgreSQL's own parser (pg_hba_file_rules) judges the file; a rejected file is put back.
 */
export const pgHbaAction = (s: AgentServices) => {
  const opts = { timeoutMs: s.limits.toolTimeoutMs };

  const read = async (params: Params): Promise<Plan> => {
    const cluster = await resolveCluster(s.postgresql);
    const state = await hbaServerState(cluster, opts);
    const snap = await snapshotFile(
      await containedPath(state.hbaFile, [cluster.configDir, cluster.dataDir], 'hba_file'),
    );
    if (snap.content === null)
      throw new PgduplexError('PG_HBA_INVALID', `${state.hbaFile} (hba_file) does not exist`, {
        hint: 'check hba_file in postgresql.conf',
      });
    if (Buffer.byteLength(snap.content) > MAX_HBA_BYTES)
      throw new PgduplexError('PG_HBA_INVALID', `${state.hbaFile} is larger than ${MAX_HBA_BYTES} bytes`, {
        hint: 'pgduplex edits ordinary pg_hba.conf files only',
      });
    const spec: HbaBlockSpec = {
      peer: parseHostAddress(params.peer),
      role: params.role,
      database: params.database,
      physical: params.physicalReplication ?? false,
    };
    const next = placeBlock(snap.content, spec.peer.address, hbaBlockLines(spec));
    return {
      cluster,
      ssl: state.ssl,
      spec,
      snap: { ...snap, content: snap.content },
      next,
      changes: describe(snap.path, snap.content, next, spec),
    };
  };

  const refuseBroken = async (cluster: Cluster, path: string): Promise<void> => {
    const errors = hbaErrors(await hbaFileRules(cluster, opts));
    if (errors.length > 0) {
      throw new PgduplexError(
        'PG_HBA_INVALID',
        `PostgreSQL already reports errors in ${path}, so it would load no change: ${errors.join('; ')}`,
        {
          hint: 'fix those lines by hand (see pg_hba_file_rules), then run the action again',
        },
      );
    }
  };

  /** Reverts a failed write: the previous bytes, then a reload so the server runs what is on disk. */
  const revert = async (
    p: { cluster: Cluster; snap: FileSnapshot },
    err: unknown,
    rollback: Rollback,
  ): Promise<never> => {
    let restored = false;
    await rollback(async () => {
      await restoreFile(p.snap);
      restored = true;
    });
    if (restored) await reloadAndWait(p.cluster, opts).catch(() => undefined);
    if (restored && err instanceof PgduplexError)
      throw new PgduplexError(
        err.code,
        `${err.message}; the previous ${p.snap.path} was restored`,
        err.hint === undefined ? {} : { hint: err.hint },
      );
    throw err;
  };

  return plannedChange(pgHbaChange, {
    async plan(params) {
      const p = await read(params);
      const record = { peer: p.spec.peer.address, before: p.snap, afterSha256: sha256(p.next.text) };
      if (p.changes.length > 0) {
        if (!p.ssl) throw sslOff(p.cluster);
        await refuseBroken(p.cluster, p.snap.path);
      }
      return { changes: p.changes, record, state: p };
    },
    async make({ state: p }, rollback) {
      const owner = { uid: p.snap.uid ?? 0, gid: p.snap.gid ?? 0, mode: p.snap.mode ?? 0o640 };
      await writeFileAtomic(p.snap.path, p.next.text, owner);
      try {
        const errors = hbaErrors(await hbaFileRules(p.cluster, opts));
        if (errors.length > 0) throw rejected(p.snap.path, errors, p.cluster);
        await reloadAndWait(p.cluster, opts);
        const wrong = verifyBlockRules(await hbaFileRules(p.cluster, opts), p.snap.path, p.next.ruleLines, p.spec);
        if (wrong.length > 0) throw rejected(p.snap.path, wrong, p.cluster);
      } catch (err) {
        await revert(p, err, rollback);
      }
    },
    async undo(recorded) {
      // Made before a pg-upgrade: the file now lives in the new cluster's config dir (pg_upgradecluster copied it).
      const before = { ...recorded.before, path: followedPath(recorded.before.path, s.follow.get()) };
      const rec = { ...recorded, before };
      const cluster = await resolveCluster(s.postgresql);
      const now = await snapshotFile(rec.before.path);
      if (now.content === null || rec.before.content === null)
        throw new PgduplexError('PG_HBA_INVALID', `${rec.before.path} no longer exists`, {
          hint: 'restore it from a backup; pgduplex will not create it',
        });
      const untouched = sha256(now.content) === rec.afterSha256;
      const previous = existingBlock(rec.before.content, rec.peer);
      const text = untouched
        ? rec.before.content
        : previous
          ? placeBlock(now.content, rec.peer, previous).text
          : removeBlock(now.content, rec.peer);
      if (text === now.content) return [];
      await (untouched
        ? restoreFile(rec.before)
        : writeFileAtomic(now.path, text, { uid: now.uid ?? 0, gid: now.gid ?? 0, mode: now.mode ?? 0o640 }));
      try {
        const errors = hbaErrors(await hbaFileRules(cluster, opts));
        if (errors.length > 0) throw rejected(now.path, errors, cluster);
        await reloadAndWait(cluster, opts);
      } catch (err) {
        // undo: a failed restore is the error
        return revert({ cluster, snap: now }, err, async (fn) => void (await fn()));
      }
      if (untouched) return [`restored ${now.path} byte for byte (pgduplex block for ${rec.peer})`];
      const what = previous
        ? `put back the previous pgduplex block for ${rec.peer} in`
        : `removed the pgduplex block for ${rec.peer} from`;
      return [`${what} ${now.path} (the rest of the file changed since, and was kept)`];
    },
  });
};

function describe(
  path: string,
  before: string,
  next: { text: string; ruleLines: number[] },
  spec: HbaBlockSpec,
): string[] {
  if (next.text === before) return [];
  const old = rulesOf(existingBlock(before, spec.peer.address) ?? []).map(compact);
  const want = hbaRuleLines(spec).map(compact);
  const changes = [
    ...old.filter((r) => !want.includes(r)).map((r) => `${path}: remove "${r}"`),
    ...want.flatMap((r, i) => (old.includes(r) ? [] : [`${path}: add "${r}" at line ${next.ruleLines[i] ?? '?'}`])),
  ];
  return changes.length > 0
    ? changes
    : [
        `${path}: rewrite the pgduplex block for ${spec.peer.address} ` +
          `at line ${next.ruleLines[0] ?? '?'} (header or position)`,
      ];
}

function rejected(path: string, errors: string[], cluster: Cluster): PgduplexError {
  const ssl = errors.some((e) => e.includes('SSL is disabled'));
  return new PgduplexError('PG_HBA_INVALID', `PostgreSQL rejected the new ${path}: ${errors.join('; ')}`, {
    hint: ssl ? sslHint(cluster) : 'the PostgreSQL log has the details; nothing was changed',
  });
}

function sslOff(cluster: Cluster): PgduplexError {
  return new PgduplexError(
    'PG_HBA_INVALID',
    `ssl is off in PostgreSQL ${cluster.version}/${cluster.name}, so hostssl lines can never match`,
    { hint: sslHint(cluster) },
  );
}

function sslHint(cluster: Cluster): string {
  return (
    "set ssl = on (Debian's default, with the snakeoil certificate; ssl-cert must be installed) in postgresql.conf, " +
    `run "systemctl reload ${cluster.service}", then run the action again`
  );
}
