// What each PostgreSQL major has in the catalogs and stat views pgduplex reads, as SQL expressions: the
// versioned query texts are assembled from these, so no text names a column its server lacks.
import { pgMajor } from './server-version.js';

/**
 * pg_stat_subscription_stats' conflict counters without their `confl_` prefix, as PostgreSQL's system_views.sql
 * names them: 18 added seven, 19 added `update_deleted` (counted only with `retain_dead_tuples`).
 */
export function conflictCounters(versionNum: number): string[] {
  const major = pgMajor(versionNum);
  if (major < 18) return [];
  const pg18 = [
    'insert_exists',
    'update_origin_differs',
    'update_exists',
    'update_missing',
    'delete_origin_differs',
    'delete_missing',
    'multiple_unique_conflicts',
  ];
  return major >= 19 ? [...pg18, 'update_deleted'] : pg18;
}

/** The replication status query's version-dependent fields over `s` (slot or subscription) and `st` (its stats). */
export interface StatusColumns {
  inactiveSeconds: string;
  syncErrors: string;
  syncSeqErrors: string;
  conflicts: string;
  retainDeadTuples: string;
}

/** Each field as the server of `versionNum` can give it, or null where it has none. */
export function statusColumns(versionNum: number): StatusColumns {
  const major = pgMajor(versionNum);
  const counters = conflictCounters(versionNum);
  return {
    // 17 added inactive_since; 16 cannot tell how long a slot has been idle.
    inactiveSeconds:
      major >= 17
        ? 'case when s.active then null else round(extract(epoch from now() - s.inactive_since), 1) end'
        : 'null',
    // 19 split sync_error_count into table and sequence sync errors.
    syncErrors: major >= 19 ? 'coalesce(st.sync_table_error_count, 0)' : 'coalesce(st.sync_error_count, 0)',
    syncSeqErrors: major >= 19 ? 'coalesce(st.sync_seq_error_count, 0)' : 'null',
    conflicts:
      counters.length === 0
        ? 'null'
        : `case when st.subid is null then null else json_build_object(${counters
            .map((k) => `'${k}', st.confl_${k}`)
            .join(', ')}) end`,
    retainDeadTuples: major >= 19 ? 's.subretaindeadtuples' : 'null',
  };
}

/** pg_subscription's failover flag: a column from 17 on; null on 16, which has no failover slots. */
export const subscriptionFailoverColumn = (versionNum: number): string =>
  pgMajor(versionNum) >= 17 ? 's.subfailover' : 'null::boolean';
