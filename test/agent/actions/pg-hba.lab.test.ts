import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { LAB, nodeExec } from '../../lab/index.js';

// The pg-hba action on node a's real agent and PostgreSQL 17: check, apply, verify, check again, undo.
const HBA = `/etc/postgresql/${LAB.pgVersion}/main/pg_hba.conf`;
const B4 = LAB.nodes.b.ipv4;
const B6 = LAB.nodes.b.ipv6;
const params = (peer: string) => ({ peer, role: 'pgduplex_h6hba', database: LAB.database });
const ids: string[] = [];
let original = '';

const sha = async (): Promise<string> => (await nodeExec('a', ['sha256sum', HBA])).stdout.split(' ')[0] ?? '';
const owner = async (): Promise<string> => (await nodeExec('a', ['stat', '-c', '%U:%G %a', HBA])).stdout.trim();
const psql = async (sql: string): Promise<string> =>
  (
    await nodeExec('a', ['runuser', '-u', 'postgres', '--', 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
      input: sql,
    })
  ).stdout.trim();
const ourRules = async (): Promise<string> =>
  psql(
    "select string_agg(concat_ws(' ', line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), address, auth_method, error), E'\\n' order by line_number) from pg_hba_file_rules where user_name = '{pgduplex_h6hba}'",
  );
const writeHba = (text: string) => nodeExec('a', ['bash', '-c', `cat > ${HBA}`], { input: text });
/** The file's exact bytes (nodeExec's stdout loses a final newline). */
const readHba = async (): Promise<string> =>
  Buffer.from((await nodeExec('a', ['base64', '-w0', HBA])).stdout.trim(), 'base64').toString('utf8');
const hbaUndoIds = async (): Promise<string[]> =>
  (await agentOk<Array<{ id: string; action: string; undone: boolean }>>('a', 'journal.list'))
    .filter((e) => e.action === 'pg-hba' && !e.undone)
    .map((e) => e.id);

beforeAll(async () => {
  original = await readHba();
});

afterAll(async () => {
  for (const id of ids.reverse()) await agentRpc('a', 'journal.undo', { id });
  await psql('ALTER SYSTEM RESET ssl; SELECT pg_reload_conf();').catch(() => undefined);
  if ((await readHba()) !== original) {
    await writeHba(original);
    await psql('SELECT pg_reload_conf();');
  }
});

describe('pg-hba action (node a, real pg_hba.conf and pg_hba_file_rules)', () => {
  it('checks, applies and verifies for IPv4 and IPv6, then has nothing left to do; undo restores the file byte for byte', async () => {
    const before = await sha();
    const stat = await owner();
    expect(stat).toBe('postgres:postgres 640');

    const check = await agentOk<{ changes: string[] }>('a', 'pg-hba.check', params(B4));
    expect(check.changes).toEqual([
      expect.stringMatching(
        new RegExp(`^${HBA}: add "hostssl ${LAB.database} pgduplex_h6hba ${B4}/32 scram-sha-256" at line \\d+$`),
      ),
    ]);
    expect(await sha()).toBe(before);

    const applied = await agentOk<{ changed: boolean; changes: string[]; journalId: string }>(
      'a',
      'pg-hba.apply',
      params(B4),
    );
    expect(applied).toMatchObject({ changed: true, changes: check.changes });
    ids.push(applied.journalId);
    const applied6 = await agentOk<{ changed: boolean; journalId: string }>('a', 'pg-hba.apply', params(B6));
    ids.push(applied6.journalId);

    const text = await readHba();
    const lines = text.split('\n');
    const begin = lines.indexOf(`# BEGIN pgduplex peer ${B4}`);
    expect(lines[begin + 1]).toMatch(/^# Managed by pgduplex-agent/);
    // First match wins: both blocks sit before every host line (FS PBX's md5 lines).
    expect(begin).toBeLessThan(lines.findIndex((l) => l.startsWith('host ')));
    expect(lines.indexOf(`# BEGIN pgduplex peer ${B6}`)).toBeGreaterThan(begin);
    expect(lines.indexOf(`# BEGIN pgduplex peer ${B6}`)).toBeLessThan(lines.findIndex((l) => l.startsWith('host ')));
    expect(await owner()).toBe(stat);
    const rules = await ourRules();
    expect(rules).toMatch(
      new RegExp(
        `^\\d+ hostssl ${LAB.database} pgduplex_h6hba ${B4} scram-sha-256\\n\\d+ hostssl ${LAB.database} pgduplex_h6hba ${B6} scram-sha-256$`,
      ),
    );

    expect((await agentOk<{ changes: string[] }>('a', 'pg-hba.check', params(B6))).changes).toEqual([]);

    expect((await agentOk<{ changes: string[] }>('a', 'pg-hba.check', params(B4))).changes).toEqual([]);
    expect(await agentOk('a', 'pg-hba.apply', params(B4))).toEqual({ changed: false, changes: [] });

    for (const id of ids.splice(0).reverse())
      expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id })).undone).toEqual([
        expect.stringContaining('byte for byte'),
      ]);
    expect(await sha()).toBe(before);
    expect(await owner()).toBe(stat);
    expect(await ourRules()).toBe('');
  });

  it('hostssl with ssl off: check and apply refuse before writing, nothing written, reloaded or journaled', async () => {
    const before = await sha();
    const journalBefore = await hbaUndoIds();
    await psql('ALTER SYSTEM SET ssl = off; SELECT pg_reload_conf();');
    try {
      await expect.poll(() => psql('SHOW ssl')).toBe('off');
      const check = await agentRpc('a', 'pg-hba.check', params(B4));
      expect(check).toMatchObject({
        ok: false,
        error: {
          code: 'PG_HBA_INVALID',
          message: expect.stringContaining('ssl is off'),
          hint: expect.stringContaining('ssl = on'),
        },
      });

      const loadedBefore = await psql('SELECT pg_conf_load_time()');
      const r = await agentRpc('a', 'pg-hba.apply', params(B4));
      // One plan for check and apply: apply refuses as check does, before anything is written.
      expect(r).toMatchObject({
        ok: false,
        error: {
          code: 'PG_HBA_INVALID',
          message: expect.stringContaining('ssl is off'),
          hint: expect.stringContaining('ssl = on'),
        },
      });
      expect(await sha()).toBe(before);
      expect(await psql('SELECT pg_conf_load_time()')).toBe(loadedBefore);
      expect(await hbaUndoIds()).toEqual(journalBefore);
    } finally {
      await psql('ALTER SYSTEM RESET ssl; SELECT pg_reload_conf();');
    }
    await expect.poll(() => psql('SHOW ssl')).toBe('on');
  });

  it('refuses to edit a file PostgreSQL already rejects, and leaves it as it was', async () => {
    const broken = `${original}host all all 10.0.0.1/33 md5\n`;
    await writeHba(broken);
    const brokenSha = await sha();
    try {
      const r = await agentRpc('a', 'pg-hba.apply', params(B4));
      expect(r).toMatchObject({
        ok: false,
        error: { code: 'PG_HBA_INVALID', message: expect.stringContaining('already reports errors') },
      });
      if (!r.ok) expect(r.error.message).toContain('invalid CIDR mask');
      expect(await sha()).toBe(brokenSha);
    } finally {
      await writeHba(original);
    }
  });

  it('undo after someone else edited the file removes only its block and keeps their change', async () => {
    const before = await sha();
    const applied = await agentOk<{ journalId: string }>('a', 'pg-hba.apply', params(B4));
    ids.push(applied.journalId);
    await nodeExec('a', ['bash', '-c', `echo '# added by hand' >> ${HBA}`]);
    const undone = await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: ids.pop() as string });
    expect(undone.undone).toEqual([expect.stringContaining('was kept')]);
    expect(await readHba()).toBe(`${original}# added by hand\n`);
    await writeHba(original);
    expect(await sha()).toBe(before);
  });

  it('refuses bad params with a typed error and changes nothing', async () => {
    const before = await sha();
    const bad = [
      { ...params(B4), peer: '10.231.7.0/24' },
      { ...params(B4), peer: 'b.example' },
      { ...params(B4), role: 'all' },
      { ...params(B4), role: "x'y" },
      { ...params(B4), role: 'pg_monitor' },
      { ...params(B4), database: 'replication' },
      { ...params(B4), database: 'fusion pbx' },
      { ...params(B4), database: 'a\nhost all all 0.0.0.0/0 trust' },
      { ...params(B4), database: '@/etc/passwd' },
      { ...params(B4), extra: 1 },
    ];
    for (const p of bad) {
      const r = await agentRpc('a', 'pg-hba.apply', p);
      expect(r).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
    }
    expect(await sha()).toBe(before);
  });
});
