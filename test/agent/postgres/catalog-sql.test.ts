import { describe, expect, it } from 'vitest';
import { conflictCounters, statusColumns } from '../../../agent/postgres/catalog-columns.js';
import { replicationStatusSql } from '../../../agent/postgres/replication-sql.js';
import { pgMajor } from '../../../agent/postgres/server-version.js';
import { readSubscriptionSql } from '../../../agent/postgres/subscription-sql.js';

// Which columns each major's text names; catalog-versions.test.ts runs the same texts on real servers.
describe('catalog queries chosen by server_version_num', () => {
  it('names only the columns each major has', () => {
    const sql = (v: number) => replicationStatusSql(v);
    expect(sql(160013)).not.toMatch(/inactive_since|confl_|sync_table_error_count|to_jsonb|retaindeadtuples/);
    expect(sql(160013)).toContain('st.sync_error_count');
    expect(sql(170010)).toContain('s.inactive_since');
    expect(sql(170010)).not.toMatch(/confl_/);
    expect(sql(180004)).toContain('st.confl_multiple_unique_conflicts');
    expect(sql(180004)).not.toMatch(/confl_update_deleted|sync_seq_error_count/);
    expect(sql(190000)).toMatch(/st\.sync_table_error_count[\s\S]*st\.sync_seq_error_count/);
    expect(sql(190000)).not.toContain('sync_error_count,');
    expect(sql(190000)).not.toContain('st.sync_error_count');
    expect(sql(190000)).toContain('st.confl_update_deleted');
    expect(sql(190000)).toContain('s.subretaindeadtuples');
  });

  it('knows the conflict counters of 18 and 19 by their names in system_views.sql', () => {
    expect(conflictCounters(170010)).toEqual([]);
    expect(conflictCounters(180004)).toHaveLength(7);
    expect(conflictCounters(190000)).toEqual([...conflictCounters(180004), 'update_deleted']);
  });

  it('reads failover from 17 on and says null on 16', () => {
    expect(readSubscriptionSql(160013)).not.toContain('subfailover');
    expect(readSubscriptionSql(170000)).toContain('s.subfailover');
  });

  it('refuses a server older than 16 and reads the major of a newer one', () => {
    expect(() => pgMajor(150018)).toThrow(/older than 16/);
    expect(pgMajor(200001)).toBe(20);
    expect(statusColumns(200001).syncSeqErrors).toContain('sync_seq_error_count');
  });
});
