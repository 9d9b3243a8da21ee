import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeExec } from '../lab/index.js';
import { labSql, nodeSnapshot, pgStartedAt, type NodeSnapshot } from '../lab/node-snapshot.js';
import { cleanUpLabPair, onBoth, pgduplex as cli, setUpLabPair } from '../lab/setup-pair.js';

// b already ran wal_level = logical and listened on all addresses (its operator's own file) before setup:
// teardown reverts pgduplex's drop-in on both nodes, but only a has settings waiting for a restart
// (a's listen_addresses is FS PBX's localhost), so only a restarts.
const OPERATOR_CONF = '/etc/postgresql/17/main/conf.d/10-operator.conf';
const restartB = () => nodeExec('b', ['systemctl', 'restart', 'postgresql@17-main'], { timeoutMs: 300_000 });

let beforeB: NodeSnapshot;

beforeAll(async () => {
  await nodeExec('b', ['bash', '-c', `cat > ${OPERATOR_CONF} && chown postgres:postgres ${OPERATOR_CONF}`], {
    input: "wal_level = logical\ntrack_commit_timestamp = on\nlisten_addresses = '*'\n",
  });
  await restartB();
  beforeB = (
    await setUpLabPair(
      'create table jobs (id bigserial primary key, queue text); insert into jobs (queue) values (1), (2);',
    )
  ).b;
}, 900_000);

afterAll(async () => {
  await cleanUpLabPair(['jobs']);
  await nodeExec('b', ['rm', '-f', OPERATOR_CONF]);
  await restartB();
}, 600_000);

describe('pgduplex teardown restarts PostgreSQL only where a reverted setting needs it', () => {
  it('restarts a (wal_level back to replica) and not b (still logical from its own file)', async () => {
    expect(await labSql('b', 'select count(*) from pg_settings where pending_restart')).toBe('0');
    const started = await onBoth(pgStartedAt);
    const r = await cli('a', 'teardown', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/changed\s+b\s+pg-settings: restored .*50-pgduplex\.conf/);
    expect(r.stdout).toMatch(/ok\s+b\s+pg-service: no reverted setting needs a restart/);
    expect(r.stdout).toMatch(
      /changed\s+a\s+pg-service: restarted PostgreSQL for the reverted listen_addresses, track_commit_timestamp, wal_level/,
    );
    const now = await onBoth(pgStartedAt);
    expect(now[0]).not.toBe(started[0]);
    expect(now[1]).toBe(started[1]);
    const b = await nodeSnapshot('b');
    expect({ ...b, sequences: {} }).toEqual({ ...beforeB, sequences: {} });
    expect(await labSql('b', 'show wal_level')).toBe('logical');
  });
});
