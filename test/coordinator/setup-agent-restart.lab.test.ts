import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOk } from '../lab/agent-rpc.js';
import { waitFor } from '../lab/http.js';
import { nodeExec } from '../lab/index.js';
import { pairLabNodes } from '../lab/pair.js';
import { nodeSql as sql } from '../lab/sql.js';
import { undoEverything } from '../lab/undo-all.js';

// b's agent restarts while setup (run on a) configures b; b already holds the same, empty schema, so a
// non-interactive run needs no --yes: nothing on b is destroyed.
const SCHEMA = `create table ar_ext (ext_uuid uuid primary key default gen_random_uuid(), ext text not null unique);
create table ar_cdr (id bigserial primary key, ext_uuid uuid references ar_ext, secs int);`;
const log = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const agentPid = async () =>
  (await nodeExec('b', ['systemctl', 'show', '-P', 'MainPID', 'pgduplex-agent'])).stdout.trim();

beforeAll(async () => {
  await pairLabNodes();
  await sql(
    'a',
    `${SCHEMA} insert into ar_ext (ext) select (100 + g)::text from generate_series(1, 30) g; insert into ar_cdr (ext_uuid, secs) select ext_uuid, 60 from ar_ext;`,
  );
  await sql('b', SCHEMA);
}, 120_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const) await sql(node, 'drop table if exists ar_cdr, ar_ext;');
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 300_000);

describe('pgduplex setup across a restart of the peer agent', () => {
  it('a re-run completes after b restarts its agent during the configure step, keeping the empty schema', async () => {
    const journal = async () =>
      (await agentOk<Array<{ action: string }>>('b', 'journal.list')).filter((e) => e.action === 'firewall').length;
    const before = await journal();
    const pid = await agentPid();
    const run = nodeExec('a', ['pgduplex', 'setup'], { reject: false, timeoutMs: 600_000 });
    await waitFor("setup's first change on b", journal, (n) => n > before, 300_000);
    await nodeExec('b', ['systemctl', 'restart', 'pgduplex-agent']);
    const first = await run;
    expect(await agentPid()).not.toBe(pid);
    if (first.exitCode !== 0) {
      expect(first.stderr, log(first)).toMatch(/^pgduplex: .+/m);
      expect(first.stderr).not.toMatch(/\n\s+at /);
    }
    const again = await nodeExec('a', ['pgduplex', 'setup'], { reject: false, timeoutMs: 600_000 });
    expect(again.exitCode, log(again)).toBe(0);
    expect(`${first.stdout}${again.stdout}`).toMatch(
      /bootstrap: b already holds the same 2 tables and no rows; schema kept/,
    );
    expect(again.stdout).toMatch(/verify: 2 tables identical/);
    expect(await sql('b', 'select count(*) from ar_cdr')).toBe('30');
  });

  it('a third run changes nothing, restarts nothing and copies nothing', async () => {
    const r = await nodeExec('a', ['pgduplex', 'setup'], { reject: false, timeoutMs: 600_000 });
    expect(r.exitCode, log(r)).toBe(0);
    expect(r.stdout).not.toMatch(/^changed/m);
    expect(r.stdout).toContain('initial copy: all 2 tables were already ready, nothing copied');
    expect(r.stdout).toContain('nothing to change: the pair was already set up, nothing restarted, no data copied');
  });
});
