import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifierMatches } from '../../../agent/postgres/scram.js';
import { agentOk, agentRpc } from '../../lab/agent-rpc.js';
import { listenOnLabAddresses } from '../../lab/listen.js';
import { LAB, nodeExec } from '../../lab/index.js';

// The pg-role action on node a's real agent: the role b's subscription will log in with, its password
// only ever as a SCRAM verifier, over TLS through pg-hba and the firewall; the secret shows up nowhere.
const ROLE = 'pgduplex_h6';
const A4 = LAB.nodes.a.ipv4;
const PASSWORD = `h6-${randomBytes(12).toString('base64url')}-P!`;
const PASSFILE = '/root/.pgduplex-h6-pgpass';
const PG_LOG = `/var/log/postgresql/postgresql-${LAB.pgVersion}-main.log`;
const SAMPLER_FLAG = '/run/pgduplex-h6-sampler';
const grantSelectOn = { database: LAB.database, schema: 'public' };
const ids: string[] = [];

const psql = async (sql: string, database = 'postgres'): Promise<string> =>
  (
    await nodeExec(
      'a',
      ['runuser', '-u', 'postgres', '--', 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', '-'],
      { input: sql },
    )
  ).stdout.trim();
const storedVerifier = () => psql(`select rolpassword from pg_authid where rolname = '${ROLE}'`);
/** Logs in from node b over TLS as the role; the password comes from a 0600 passfile, never argv or env. */
const fromB = (sql: string, extra = '') =>
  nodeExec(
    'b',
    [
      'psql',
      '-XAt',
      `host=${A4} user=${ROLE} dbname=${LAB.database} sslmode=require connect_timeout=5 ${extra}`,
      '-c',
      sql,
    ],
    { env: { PGPASSFILE: PASSFILE }, reject: false },
  );

/** Samples every process's argv (ps, every 50 ms) and, in a second loop, every environment, until stopped. */
function startSampler(): { stop: () => Promise<string> } {
  const loop = (body: string) => `while [ -e ${SAMPLER_FLAG} ]; do ${body}; echo "--- sample"; sleep 0.05; done`;
  const ready = nodeExec('a', ['touch', SAMPLER_FLAG]);
  const runs = ready.then(() =>
    Promise.all([
      nodeExec('a', ['bash', '-c', loop('ps -eww -o args')], { timeoutMs: 300_000 }),
      nodeExec('a', ['bash', '-c', loop(`for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f"; done 2>/dev/null`)], {
        timeoutMs: 300_000,
      }),
    ]),
  );
  return {
    stop: async () => {
      await nodeExec('a', ['rm', '-f', SAMPLER_FLAG]);
      return (await runs).map((r) => r.stdout).join('\n');
    },
  };
}

let unlisten: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  unlisten = await listenOnLabAddresses('a');
  await psql(
    `CREATE TABLE IF NOT EXISTS h6_cdr (id bigint primary key, note text); INSERT INTO h6_cdr VALUES (1, 'x') ON CONFLICT DO NOTHING;`,
    LAB.database,
  );
  // Log every statement while this file runs: the role's statement must still stay out of the log.
  await psql("ALTER SYSTEM SET log_statement = 'all'; SELECT pg_reload_conf();");
  for (const [action, p] of [
    ['firewall.apply', { peer: LAB.nodes.b.ipv4, ports: [{ port: LAB.pgPort, purpose: 'postgresql' }] }],
    ['pg-hba.apply', { peer: LAB.nodes.b.ipv4, role: ROLE, database: LAB.database }],
  ] as const) {
    const r = await agentOk<{ journalId?: string }>('a', action, p);
    if (r.journalId) ids.push(r.journalId);
  }
  await nodeExec('b', ['bash', '-c', `umask 077; cat > ${PASSFILE}`], {
    input: `${A4}:${LAB.pgPort}:${LAB.database}:${ROLE}:${PASSWORD}\n`,
  });
});

afterAll(async () => {
  for (const id of ids.reverse()) await agentRpc('a', 'journal.undo', { id });
  await psql(`ALTER SYSTEM RESET log_statement; SELECT pg_reload_conf();`);
  await psql(`DROP TABLE IF EXISTS h6_cdr, h6_owned;`, LAB.database).catch(() => undefined);
  await psql(`DROP ROLE IF EXISTS ${ROLE}; DROP ROLE IF EXISTS ${ROLE}_old;`).catch(() => undefined);
  await nodeExec('b', ['rm', '-f', PASSFILE]);
  await unlisten();
}, 120_000);

describe('pg-role action (node a, real PostgreSQL 17, login from node b)', () => {
  const params = { role: ROLE, password: PASSWORD, grantSelectOn };

  it('creates the role from a verifier computed in the agent; b logs in over TLS; the secret appears in no argv, environment, log or journal', async () => {
    const logBefore = Number((await nodeExec('a', ['stat', '-c', '%s', PG_LOG])).stdout.trim());
    expect((await fromB('select 1')).stderr).toMatch(/password authentication failed|role .* does not exist/);

    const sampler = startSampler();
    await new Promise((r) => setTimeout(r, 200));
    let applied: { changed: boolean; changes: string[]; journalId: string };
    let samples: string;
    try {
      const check = await agentOk<{ changes: string[] }>('a', 'pg-role.check', params);
      expect(check.changes).toEqual([
        `create role ${ROLE} (LOGIN REPLICATION, not superuser) with a SCRAM-SHA-256 password`,
        expect.stringMatching(
          new RegExp(`^grant SELECT on \\d+ tables in ${LAB.database}\\.public to ${ROLE}: .*h6_cdr`),
        ),
      ]);
      applied = await agentOk('a', 'pg-role.apply', params);
    } finally {
      samples = await sampler.stop();
    }
    expect(applied.changed).toBe(true);
    ids.push(applied.journalId);

    const verifier = await storedVerifier();
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(await verifierMatches(PASSWORD, verifier)).toBe(true);
    expect(await psql(`select rolcanlogin, rolreplication, rolsuper from pg_roles where rolname = '${ROLE}'`)).toBe(
      't|t|f',
    );

    const login = await fromB(
      'select current_user, (select ssl from pg_stat_ssl where pid = pg_backend_pid()), (select count(*) from h6_cdr)',
    );
    expect(login.stderr).toBe('');
    expect(login.stdout.trim()).toBe(`${ROLE}|t|1`);
    // What a subscription does: a logical replication connection (no "replication" line needed for it).
    expect((await fromB('IDENTIFY_SYSTEM', 'replication=database')).stdout).toContain(`|${LAB.database}`);
    expect((await fromB('select 1', 'sslmode=disable')).stderr).toContain('no pg_hba.conf entry');

    expect((await agentOk<{ changes: string[] }>('a', 'pg-role.check', params)).changes).toEqual([]);
    expect(await agentOk('a', 'pg-role.apply', params)).toEqual({ changed: false, changes: [] });
    expect(
      (await agentOk<{ changes: string[] }>('a', 'pg-role.check', { ...params, password: `${PASSWORD}x` })).changes,
    ).toEqual([`role ${ROLE}: set a new SCRAM-SHA-256 password`]);

    const sampleCount = samples.split('--- sample').length - 1;
    expect(sampleCount).toBeGreaterThan(3);
    expect(samples).toContain('PATH='); // the environment loop read real environments
    const journal = (await nodeExec('a', ['journalctl', '-u', 'pgduplex-agent', '--no-pager', '-o', 'cat'])).stdout;
    const agentJournal = (await nodeExec('a', ['cat', '/var/lib/pgduplex/journal.jsonl'])).stdout;
    const pgLog = (await nodeExec('a', ['tail', '-c', `+${logBefore + 1}`, PG_LOG])).stdout;
    const pgJournal = (
      await nodeExec('a', ['journalctl', '-u', `postgresql@${LAB.pgVersion}-main`, '--no-pager', '-o', 'cat'])
    ).stdout;
    expect(pgLog).toContain('pg_authid'); // log_statement = 'all' was in force: the agent's other queries are there
    const secretParts = [PASSWORD, verifier, verifier.split('$')[2] ?? 'unused', 'SCRAM-SHA-256$'];
    for (const [where, text] of Object.entries({
      samples,
      journal,
      agentJournal,
      pgLog,
      pgJournal,
      result: JSON.stringify(applied),
    })) {
      for (const secret of secretParts)
        expect(text.includes(secret), `${secret.slice(0, 16)}… in ${where}`).toBe(false);
    }
  });

  it('refuses a superuser role, a bad password and a missing schema without echoing the password', async () => {
    const su = await agentRpc('a', 'pg-role.check', { role: LAB.dbUser, password: PASSWORD });
    expect(su).toMatchObject({ ok: false, error: { code: 'REFUSED', message: expect.stringContaining('superuser') } });
    for (const password of ['short-pw', `${PASSWORD} with spaces`, `${PASSWORD}\n`]) {
      const r = await agentRpc('a', 'pg-role.apply', { role: ROLE, password });
      expect(r).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
      expect(JSON.stringify(r)).not.toContain(password.trim());
    }
    const schema = await agentRpc('a', 'pg-role.check', {
      ...params,
      grantSelectOn: { database: LAB.database, schema: 'nope' },
    });
    expect(schema).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: expect.stringContaining('schema nope') },
    });
  });

  it('undo drops the role it created and revokes its grants; b can no longer log in', async () => {
    const id = ids.pop() as string;
    expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id })).undone).toEqual([
      expect.stringMatching(new RegExp(`^revoked SELECT on \\d+ tables in ${LAB.database}\\.public from ${ROLE}$`)),
      `dropped role ${ROLE}`,
    ]);
    expect(await psql(`select count(*) from pg_roles where rolname = '${ROLE}'`)).toBe('0');
    expect(
      await psql(
        `select coalesce(relacl::text, '') like '%${ROLE}%' from pg_class where relname = 'h6_cdr'`,
        LAB.database,
      ),
    ).toBe('f');
    expect((await fromB('select 1')).exitCode).not.toBe(0);
  });

  it('undo refuses to drop a role that owns objects, naming what to do', async () => {
    const applied = await agentOk<{ journalId: string }>('a', 'pg-role.apply', { role: ROLE, password: PASSWORD });
    ids.push(applied.journalId);
    await psql(`CREATE TABLE h6_owned (id int); ALTER TABLE h6_owned OWNER TO ${ROLE};`, LAB.database);
    const r = await agentRpc('a', 'journal.undo', { id: applied.journalId });
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: 'PG_QUERY_FAILED',
        message: expect.stringContaining('depend'),
        hint: expect.stringContaining('REASSIGN OWNED'),
      },
    });
    await psql('DROP TABLE h6_owned;', LAB.database);
    expect((await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: ids.pop() as string })).undone).toEqual([
      `dropped role ${ROLE}`,
    ]);
  });

  it('adopts an existing role: adds LOGIN REPLICATION and a new password; undo takes the attributes back but says it cannot restore the password', async () => {
    const old = `${ROLE}_old`;
    await psql(`CREATE ROLE ${old} NOLOGIN;`);
    const applied = await agentOk<{ changes: string[]; journalId: string; notes?: string[] }>('a', 'pg-role.apply', {
      role: old,
      password: PASSWORD,
    });
    ids.push(applied.journalId);
    expect(applied.changes).toEqual([
      `role ${old}: add LOGIN, REPLICATION`,
      `role ${old}: set a new SCRAM-SHA-256 password`,
    ]);
    expect(applied.notes).toEqual(['undo cannot restore the previous password']);
    const undone = await agentOk<{ undone: string[] }>('a', 'journal.undo', { id: ids.pop() as string });
    expect(undone.undone).toEqual([
      `removed LOGIN, REPLICATION from role ${old}`,
      expect.stringContaining('not restored: the previous password'),
    ]);
    expect(await psql(`select rolcanlogin, rolreplication from pg_roles where rolname = '${old}'`)).toBe('f|f');
  });
});
