import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRpc } from '../lab/agent-rpc.js';
import { LAB, nodeExec } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { nodeSql } from '../lab/sql.js';
import { waitFor } from '../lab/http.js';

// Node a plays the compromised node: from its root, through its own socket (peer.call), it asks b for more
// than replication needs. b refuses each request with PEER_NOT_ALLOWED and changes nothing.
const OUTSIDER = LAB.outsider.ipv4;
const pw = 'Aa1!'.repeat(8);

/** What a hostile request could change on b: its firewall, pg_hba, roles, subscriptions, settings, journal. */
async function stateOfB(): Promise<string> {
  const sh = [
    'iptables-save -t filter | grep -v "^#" | sed "s/\\[[0-9]*:[0-9]*\\]//"',
    'cat /etc/postgresql/*/main/pg_hba.conf',
    'ls -la /etc/postgresql/*/main/conf.d/ 2>/dev/null || true',
    `runuser -u postgres -- psql -X -qAt -d fusionpbx -c "select rolname, rolsuper, rolreplication from pg_roles order by 1"`,
    `runuser -u postgres -- psql -X -qAt -d fusionpbx -c "select subname from pg_subscription order by 1"`,
    `runuser -u postgres -- psql -X -qAt -c "select name, setting from pg_settings where name = 'listen_addresses'"`,
    'wc -l < /var/lib/pgduplex/journal.jsonl 2>/dev/null || echo 0',
    'sha256sum /var/lib/pgduplex/peers.json',
  ].join('; echo ---; ');
  return (await nodeExec('b', ['bash', '-c', sh])).stdout;
}

const ask = (action: string, params: unknown) => agentRpc('a', 'peer.call', { action, params });
const sqlB = async (sql: string) =>
  (await nodeExec('b', ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-d', 'fusionpbx', '-c', sql])).stdout;

beforeAll(async () => {
  await pairLabNodes();
}, 120_000);

afterAll(async () => {
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 60_000);

const A = LAB.nodes.a.ipv4;
const HOSTILE: Array<[string, string, unknown, string]> = [
  [
    'open b to the internet',
    'firewall.apply',
    { peer: OUTSIDER, ports: [{ port: 5432, purpose: 'postgresql' }] },
    'peer',
  ],
  ['open ssh on b', 'firewall.apply', { peer: A, ports: [{ port: 22, purpose: 'ssh' }] }, 'ports'],
  [
    'a physical replication line',
    'pg-hba.apply',
    { peer: A, role: 'pgduplex_repl', database: 'fusionpbx', physicalReplication: true },
    'physicalReplication',
  ],
  [
    'a pg_hba line for another database',
    'pg-hba.apply',
    { peer: A, role: 'pgduplex_repl', database: 'postgres' },
    'database',
  ],
  ['a password on the app role', 'pg-role.apply', { role: 'fusionpbx', password: pw }, 'role'],
  ['listen on every address', 'pg-settings.apply', { settings: { listen_addresses: '*' } }, 'listen_addresses'],
  [
    'a subscription to any host, run as owner',
    'subscription.apply',
    {
      database: 'fusionpbx',
      name: 'pgduplex_from_a',
      publication: 'pgduplex_pub',
      peer: { host: OUTSIDER, port: 5432, database: 'fusionpbx', user: 'pgduplex_repl' },
      options: { runAsOwner: true, passwordRequired: false },
    },
    'peer.host',
  ],
  ['a port scan', 'pg.reach', { host: OUTSIDER, port: 22 }, 'host'],
  ['rows of another database', 'tables.diff', { database: 'postgres', schema: 'public', table: 'x' }, 'database'],
  ['a scratch database', 'backup-restore.apply', { id: 'x', into: 'pgduplex_restore_x' }, ''],
  [
    'an extension that reaches other servers',
    'extensions.apply',
    {
      database: 'fusionpbx',
      extensions: [{ name: 'dblink', schema: 'public', version: '1.2' }],
    },
    'extensions',
  ],
  ['a restart with nothing pending', 'pg-service.restart', {}, 'restart'],
  ['trust for another node over the paired channel', 'pair.complete', { node: 'x', port: 7740 }, ''],
];

describe('a compromised peer', () => {
  it.each(HOSTILE)('cannot make b do %s (%s)', async (_what, action, params, param) => {
    const before = await stateOfB();
    const r = await ask(action, params);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    // Neither is an action b answers a peer: a scratch restore is b's operator's, pair.complete a pairing channel's.
    if (action === 'backup-restore.apply' || action === 'pair.complete') expect(r.error.code).toBe('UNKNOWN_ACTION');
    else {
      expect(r.error.code).toBe('PEER_NOT_ALLOWED');
      expect(r.error.message).toContain(param);
    }
    expect(await stateOfB()).toBe(before);
  });

  it("still gets b's answer to what replication needs", async () => {
    const r = await ask('pg.reach', { host: A, port: LAB.pgPort });
    expect(r).toMatchObject({ ok: true, result: { reachable: expect.any(Boolean) } });
    expect(await ask('ping', {})).toMatchObject({ ok: true });
  });

  // Issue 14, item 10: the peer's reads had no cap; a table lock on b holds each one until the test lets go.
  it('gets at most limits.maxConcurrentPeerCalls (8) of its reads run at once; one more is BUSY', async () => {
    await sqlB('create table if not exists pgdx_busy_probe (id int primary key)');
    await nodeExec('b', [
      'bash',
      '-c',
      `setsid runuser -u postgres -- psql -X -q -d fusionpbx -c "begin; lock table pgdx_busy_probe; ` +
        `select pg_sleep(60) as pgdx_lock_holder; commit" > /dev/null 2>&1 < /dev/null &`,
    ]);
    const waiting = (sql: string) => async () => Number((await sqlB(sql)).trim());
    await waitFor(
      'the lock taken',
      waiting(`select count(*) from pg_locks l join pg_class c on c.oid = l.relation
        where c.relname = 'pgdx_busy_probe' and l.mode = 'AccessExclusiveLock' and l.granted`),
      (n) => n === 1,
    );
    const reads = Array.from({ length: 8 }, () => ask('tables.checksum', { database: 'fusionpbx', schema: 'public' }));
    try {
      await waitFor(
        'eight peer reads waiting on the lock',
        waiting(`select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = 'fusionpbx'`),
        (n) => n === 8,
      );
      const busy = await ask('ping', {});
      expect(busy).toMatchObject({ ok: false, error: { code: 'BUSY' } });
      if (!busy.ok) expect(busy.error.hint).toContain('limits.maxConcurrentPeerCalls');
    } finally {
      await sqlB(`select pg_terminate_backend(pid) from pg_stat_activity where query like '%pgdx_lock_holder%'
        and pid <> pg_backend_pid()`);
    }
    for (const r of await Promise.all(reads)) expect(r).toMatchObject({ ok: true });
    expect(await ask('ping', {})).toMatchObject({ ok: true });
    await sqlB('drop table pgdx_busy_probe');
  }, 120_000);

  it("logs each refusal on b with the peer's fingerprint", async () => {
    const log = (await nodeExec('b', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat', '-n', '400']))
      .stdout;
    expect(log).toMatch(/peer request refused/);
    expect(log).toMatch(/"fingerprint"/);
  });
});

describe("a compromised peer and b's journal and backups", () => {
  const BACKUPS = '/var/backups/pgduplex';
  const backupsOnB = async () =>
    (await nodeExec('b', ['bash', '-c', `ls -1 ${BACKUPS} | grep -- '-fusionpbx$' || true`])).stdout.trim();
  const modeOfB = async () => (await nodeExec('b', ['stat', '-c', '%U:%G %a', BACKUPS])).stdout.trim();

  afterAll(async () => {
    await nodeExec('b', ['bash', '-c', `rm -rf ${BACKUPS}/*-fusionpbx`]);
    await nodeSql('b', 'drop table if exists pgdx_rate');
  }, 60_000);

  it("cannot undo a change b's own operator made", async () => {
    const made = await agentRpc<{ journalId?: string }>('b', 'firewall.apply', {
      peer: A,
      ports: [{ port: LAB.pgPort, purpose: 'postgresql' }],
    });
    expect(made).toMatchObject({ ok: true, result: { changed: true } });
    const id = made.ok ? (made.result.journalId ?? '') : '';
    const before = await stateOfB();
    const r = await ask('journal.undo', { id });
    expect(r).toMatchObject({ ok: false, error: { code: 'PEER_NOT_ALLOWED' } });
    if (!r.ok) expect(r.error.message).toContain(`entry ${id} (firewall) was made by b's own operator`);
    expect(await stateOfB()).toBe(before);
    expect(await agentRpc('b', 'journal.undo', { id })).toMatchObject({ ok: true });
  });

  it('a repeat of its backup request with nothing written since is the same backup, in a directory made 0700', async () => {
    await nodeExec('b', ['bash', '-c', `rm -rf ${BACKUPS}/*-fusionpbx; chmod 0755 ${BACKUPS}`]);
    const first = await ask('backup.apply', { database: 'fusionpbx' });
    expect(first).toMatchObject({ ok: true, result: { changed: true, artifact: expect.any(String) } });
    const id = first.ok ? (first.result as { artifact: string }).artifact : '';
    // A looser backup directory left from before is root's alone again before the backup is written into it.
    expect(first.ok && (first.result as { notes: string[] }).notes).toContain(
      `tightened ${BACKUPS} from mode 0755 to 0700 (backups are root's alone)`,
    );
    expect(await modeOfB()).toBe('root:root 700');
    const again = await ask('backup.apply', { database: 'fusionpbx' });
    expect(again).toMatchObject({ ok: true, result: { changed: false, artifact: id } });
    expect(await backupsOnB()).toBe(id);
  });

  it('is refused a fourth backup within the interval once b was written to, whatever the schema', async () => {
    await nodeSql('b', 'create table pgdx_rate (x int); insert into pgdx_rate values (1)');
    // A setup whose copy was cut short backs b up again: the second and third backups are new ones.
    for (const n of [2, 3]) {
      await nodeSql('b', `insert into pgdx_rate values (${n})`);
      const r = await ask('backup.apply', { database: 'fusionpbx' });
      expect(r, `backup ${n}`).toMatchObject({ ok: true, result: { changed: true } });
    }
    await nodeSql('b', 'insert into pgdx_rate values (4)');
    const before = await backupsOnB();
    expect(before.split('\n')).toHaveLength(3);
    for (const params of [{ database: 'fusionpbx' }, { database: 'fusionpbx', schema: 'public' }]) {
      const r = await ask('backup.apply', params);
      expect(r).toMatchObject({ ok: false, error: { code: 'PEER_NOT_ALLOWED' } });
      if (!r.ok) {
        expect(r.error.message).toContain('limits.peerBackupIntervalMs allows the peer 3 backups per 10 min');
        expect(r.error.message).toMatch(/the next is allowed at \d{4}-\d\d-\d\dT/);
      }
    }
    expect(await backupsOnB()).toBe(before);
    // b's operator is not held to it.
    const local = await agentRpc('b', 'backup.apply', { database: 'fusionpbx' });
    expect(local).toMatchObject({ ok: true, result: { changed: true } });
  });
});
