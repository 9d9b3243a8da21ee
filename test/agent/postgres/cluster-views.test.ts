import { describe, expect, it } from 'vitest';
import { parseLsclusters, startWord } from '../../../agent/postgres/cluster-views.js';

describe("postgresql-common's view of the clusters", () => {
  it('reads which clusters run from pg_lsclusters -h, old and new side by side after pg_upgradecluster', () => {
    const text = [
      '17  main    5433 down   postgres /var/lib/postgresql/17/main /var/log/postgresql/postgresql-17-main.log',
      '18  main    5432 online postgres /var/lib/postgresql/18/main /var/log/postgresql/postgresql-18-main.log',
      '18  spare   5434 online,recovery postgres /srv/pg /var/log/postgresql/postgresql-18-spare.log',
      '',
    ].join('\n');
    expect([...parseLsclusters(text)]).toEqual([
      ['17/main', false],
      ['18/main', true],
      ['18/spare', true],
    ]);
  });

  it("reads start.conf's word past comments, auto when the file is absent", () => {
    expect(startWord('# Automatic startup configuration\n#   auto: ...\n\nmanual\n')).toBe('manual');
    expect(startWord(null)).toBe('auto');
    expect(startWord('disabled # no\n')).toBe('disabled');
  });
});
