import { describe, expect, it } from 'vitest';
import { fspbxHbaBlocks } from '../../../agent/postgres/hba-foreign.js';

// pg_hba.conf as FS PBX's setup_logical_replication.sh leaves it on a (peer 10.0.0.2).
const SCRIPT_MADE = `local   all   postgres   peer
host    all   all   127.0.0.1/32   md5
host    all   all   ::1/128        md5
# >>> fspbx logical replication (10.0.0.2) >>>
# Logical replication peer access
host    replication     fusionpbx     10.0.0.2/32       md5
host    all             all              10.0.0.2/32       md5
# <<< fspbx logical replication (10.0.0.2) <<<

`;

describe('fspbxHbaBlocks', () => {
  it("finds the script's block by its markers, with its rules and line numbers", () => {
    expect(fspbxHbaBlocks(SCRIPT_MADE, '/etc/pg_hba.conf')).toEqual([
      {
        file: '/etc/pg_hba.conf',
        peer: '10.0.0.2',
        begin: 4,
        end: 8,
        rules: ['host replication fusionpbx 10.0.0.2/32 md5', 'host all all 10.0.0.2/32 md5'],
      },
    ]);
  });

  it('finds none in a file without the markers (pgduplex blocks included)', () => {
    const own = '# BEGIN pgduplex peer 10.0.0.2\nhostssl fusionpbx pgduplex_repl 10.0.0.2/32 scram-sha-256\n';
    expect(fspbxHbaBlocks(`local all all peer\n${own}# END pgduplex peer 10.0.0.2\n`, 'f')).toEqual([]);
  });

  it('reports a header without its footer as running to the end, and CRLF files too', () => {
    const text = '# >>> fspbx logical replication (10.0.0.3) >>>\r\nhost all all 10.0.0.3/32 md5\r\n';
    expect(fspbxHbaBlocks(text, 'f')).toEqual([
      { file: 'f', peer: '10.0.0.3', begin: 1, end: null, rules: ['host all all 10.0.0.3/32 md5'] },
    ]);
  });
});
