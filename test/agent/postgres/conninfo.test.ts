import { describe, expect, it } from 'vitest';
import { connTarget } from '../../../agent/postgres/conninfo.js';

describe('connTarget', () => {
  it("keeps host, port and user of FS PBX's conninfo and never its password", () => {
    const info = 'host=10.0.0.1 dbname=fusionpbx user=fusionpbx password=s3cret-Pw';
    const t = connTarget(info);
    expect(t).toEqual({ host: '10.0.0.1', port: null, user: 'fusionpbx' });
    expect(JSON.stringify(t)).not.toContain('s3cret');
  });

  it('reads quoted values with escapes and spaces around =', () => {
    const t = connTarget("password = 'a b\\' host=x' host = 'db host' port=5433 user='o\\'neil'");
    expect(t).toEqual({ host: 'db host', port: '5433', user: "o'neil" });
  });

  it('falls back on hostaddr and reads the URI form without its password', () => {
    expect(connTarget('hostaddr=10.0.0.2 user=u')).toEqual({ host: '10.0.0.2', port: null, user: 'u' });
    const uri = connTarget('postgresql://fusionpbx:s3cret@10.0.0.1:5432/fusionpbx?sslmode=require');
    expect(uri).toEqual({ host: '10.0.0.1', port: '5432', user: 'fusionpbx' });
    expect(connTarget('postgres://[fd00::1]:6432/db').host).toBe('fd00::1');
    expect(JSON.stringify(uri)).not.toContain('s3cret');
  });

  it('gives nulls, not text, for what it cannot read', () => {
    expect(connTarget("host='unterminated password=x")).toEqual({ host: null, port: null, user: null });
    expect(connTarget('')).toEqual({ host: null, port: null, user: null });
  });
});
