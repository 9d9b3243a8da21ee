import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNED_HEADER } from '../../../agent/files/owned-file.js';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { nodeExec } from '../../lab/index.js';

// pg-settings and pg-service on node a's real agent, PostgreSQL 17 and systemd: check, apply, verify, restart, undo.
const CONF = '/etc/postgresql/17/main';
const DROPIN = `${CONF}/conf.d/50-pgduplex.conf`;
const SLOW = 300_000;

type Apply = { changed: boolean; changes: string[]; journalId?: string; restartNeeded?: boolean; notes?: string[] };
type Check = { changes: string[]; restartNeeded?: boolean };

const sql = async (query: string): Promise<string> =>
  (
    await nodeExec('a', ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-At', '-f', '-'], { input: query })
  ).stdout.trim();
const setting = (name: string) =>
  sql(
    `select setting || '|' || case when pending_restart then 't' else 'f' end from pg_settings where name = '${name}'`,
  );
const sha = async (path: string): Promise<string> => {
  const r = await nodeExec('a', ['sha256sum', path], { reject: false });
  return r.exitCode === 0 ? (r.stdout.split(' ')[0] ?? '') : 'absent';
};
const ids: string[] = [];
const undoAll = async () => {
  for (const id of ids.splice(0).reverse()) await agentRpc('a', 'journal.undo', { id });
};

let confBefore = '';
beforeAll(async () => {
  confBefore = await sha(`${CONF}/postgresql.conf`);
  expect(await sha(DROPIN)).toBe('absent');
  expect(await setting('wal_level')).toBe('replica|f');
});

afterAll(async () => {
  await undoAll();
  await sql('alter system reset max_sync_workers_per_subscription; select pg_reload_conf();').catch(() => undefined);
  if ((await setting('wal_level').catch(() => '')) !== 'replica|f')
    await nodeExec('a', ['systemctl', 'restart', 'postgresql@17-main']);
  expect(await sha(DROPIN)).toBe('absent');
  expect(await sha(`${CONF}/postgresql.conf`)).toBe(confBefore);
}, SLOW);

describe('pg-settings (node a, real PostgreSQL 17)', () => {
  const params = { settings: { wal_level: 'logical', max_slot_wal_keep_size: '10GB' } };

  it(
    'checks, applies into conf.d, verifies after reload, restarts for wal_level, and undoes byte for byte',
    async () => {
      const check = await agentOk<Check>('a', 'pg-settings.check', params);
      expect(check).toEqual({
        changes: ['wal_level: replica -> logical (restart needed)', 'max_slot_wal_keep_size: -1 -> 10GB'],
        restartNeeded: true,
      });
      expect(await sha(DROPIN)).toBe('absent');

      const applied = await agentOk<Apply>('a', 'pg-settings.apply', params);
      expect(applied).toMatchObject({ changed: true, changes: check.changes, restartNeeded: true });
      ids.push(applied.journalId ?? '');
      expect((await nodeExec('a', ['stat', '-c', '%U:%G %a', DROPIN])).stdout.trim()).toBe('postgres:postgres 644');
      expect((await nodeExec('a', ['head', '-n', '1', DROPIN])).stdout.trim()).toBe(OWNED_HEADER);
      expect(await setting('wal_level')).toBe('replica|t');
      expect(await setting('max_slot_wal_keep_size')).toBe('10240|f');

      expect(await agentOk<Check>('a', 'pg-settings.check', params)).toEqual({ changes: [], restartNeeded: true });
      expect(await agentOk<Apply>('a', 'pg-settings.apply', params)).toEqual({
        changed: false,
        changes: [],
        restartNeeded: true,
      });

      const restarted = await agentOk<{ cluster: string; via: string; pendingRestart: string[] }>(
        'a',
        'pg-service.restart',
        {},
      );
      expect(restarted).toMatchObject({ cluster: '17/main', via: 'systemd', pendingRestart: [] });
      expect(await setting('wal_level')).toBe('logical|f');
      expect(await agentOk<Check>('a', 'pg-settings.check', params)).toEqual({ changes: [] });

      // A second change to an existing drop-in: its undo must give back exactly the first file.
      const first = await sha(DROPIN);
      const more = await agentOk<Apply>('a', 'pg-settings.apply', {
        settings: { ...params.settings, max_sync_workers_per_subscription: '4' },
      });
      expect(more).toMatchObject({ changed: true, changes: ['max_sync_workers_per_subscription: 2 -> 4'] });
      expect(more.restartNeeded).toBeUndefined();
      expect(await setting('max_sync_workers_per_subscription')).toBe('4|f');
      expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: more.journalId })).undone).toEqual([
        `restored ${DROPIN}`,
      ]);
      expect(await sha(DROPIN)).toBe(first);
      expect(await setting('max_sync_workers_per_subscription')).toBe('2|f');

      const undone = await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: ids.pop() });
      expect(undone.undone).toEqual([
        `restored ${DROPIN} (removed: it did not exist before)`,
        'PostgreSQL must restart for wal_level to take effect (pending_restart)',
      ]);
      expect(await sha(DROPIN)).toBe('absent');
      expect(await setting('max_slot_wal_keep_size')).toBe('-1|f');
      expect(await setting('wal_level')).toBe('logical|t');
      await agentOk('a', 'pg-service.restart', {});
      expect(await setting('wal_level')).toBe('replica|f');
    },
    SLOW,
  );

  it(
    'takes back a setting PostgreSQL will not start with, starts it again and returns the log lines',
    async () => {
      const applied = await agentOk<Apply>('a', 'pg-settings.apply', { settings: { listen_addresses: '192.0.2.1' } });
      expect(applied).toMatchObject({
        changed: true,
        changes: ['listen_addresses: localhost -> 192.0.2.1 (restart needed)'],
        restartNeeded: true,
      });
      ids.push(applied.journalId ?? '');

      const r = await agentRpc('a', 'pg-service.restart', { restoreJournalId: applied.journalId });
      expect(r).toMatchObject({ ok: false, error: { code: 'PG_START_FAILED' } });
      if (r.ok) return;
      expect(r.error.message).toContain('the previous settings were restored and PostgreSQL is running again');
      expect(r.error.message).toContain('/var/log/postgresql/postgresql-17-main.log');
      expect(r.error.message).toMatch(/FATAL: +could not create any TCP\/IP sockets/);
      expect(r.error.message.split('\n').length).toBeLessThanOrEqual(11);
      expect(await sha(DROPIN)).toBe('absent');
      expect(await sql('select 1')).toBe('1');
      expect((await nodeExec('a', ['systemctl', 'is-active', 'postgresql@17-main'])).stdout.trim()).toBe('active');
      expect(await setting('listen_addresses')).toBe('localhost|f');
      const journal = await agentOk<Array<{ id: string; undone: boolean }>>('a', 'journal.list');
      expect(journal.find((e) => e.id === applied.journalId)?.undone).toBe(true);
      ids.pop();
      expect(await agentRpc('a', 'journal.undo', { id: applied.journalId })).toMatchObject({
        ok: false,
        error: { code: 'REFUSED' },
      });
    },
    SLOW,
  );

  it('refuses an ALTER SYSTEM value that would win over the drop-in, in check and apply alike', async () => {
    await sql('alter system set max_sync_workers_per_subscription = 3; select pg_reload_conf();');
    try {
      const p = { settings: { max_sync_workers_per_subscription: '4' } };
      const refused = {
        ok: false,
        error: {
          code: 'PG_SETTING_OVERRIDDEN',
          message: expect.stringContaining(
            "max_sync_workers_per_subscription = '3' in postgresql.auto.conf (ALTER SYSTEM)",
          ),
          hint: expect.stringContaining('ALTER SYSTEM RESET'),
        },
      };
      expect(await agentRpc('a', 'pg-settings.check', p)).toMatchObject(refused);
      const r = await agentRpc('a', 'pg-settings.apply', p);
      expect(r).toMatchObject(refused);
      expect(await sha(DROPIN)).toBe('absent');
    } finally {
      await sql('alter system reset max_sync_workers_per_subscription; select pg_reload_conf();');
    }
  });

  it('refuses bad names and values, and a PostgreSQL 18 setting on 17, with a typed error', async () => {
    for (const settings of [
      { shared_preload_libraries: 'x' },
      { wal_level: "logical'\nfsync = off" },
      { max_wal_senders: '300000' },
      { idle_replication_slot_timeout: '1d' },
    ]) {
      const r = await agentRpc('a', 'pg-settings.apply', { settings });
      expect(r, JSON.stringify(settings)).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
    }
    const r = await agentRpc('a', 'pg-settings.check', { settings: { idle_replication_slot_timeout: '1d' } });
    expect(r.ok ? '' : r.error.message).toContain('PostgreSQL 18 and newer');
    expect(await sha(DROPIN)).toBe('absent');
  });

  // The postgres user owns postgresql.conf: an include_dir it points at the agent's state must not make root write there.
  it("refuses an include_dir outside the cluster's directories, writing nothing", async () => {
    const line = "include_dir = '/var/lib/pgduplex'";
    await nodeExec('a', ['bash', '-c', `echo "${line}" >> ${CONF}/postgresql.conf`]);
    try {
      const r = await agentRpc('a', 'pg-settings.apply', { settings: { wal_level: 'logical' } });
      expect(r).toMatchObject({ ok: false, error: { code: 'PATH_NOT_ALLOWED' } });
      expect(r.ok ? '' : r.error.message).toContain('/var/lib/pgduplex/50-pgduplex.conf');
      expect(await sha('/var/lib/pgduplex/50-pgduplex.conf')).toBe('absent');
    } finally {
      await nodeExec('a', ['sed', '-i', `\\#^${line}$#d`, `${CONF}/postgresql.conf`]);
    }
    expect(await sha(`${CONF}/postgresql.conf`)).toBe(confBefore);
  });

  it('reloads through systemd and says what waits for a restart', async () => {
    expect(await agentOk('a', 'pg-service.reload', {})).toMatchObject({
      cluster: '17/main',
      via: 'systemd',
      pendingRestart: [],
    });
  });
});
