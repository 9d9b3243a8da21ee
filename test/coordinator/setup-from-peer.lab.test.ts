import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../lab/http.js';
import { nodeExec, type NodeName } from '../lab/index.js';
import { undoEverything } from '../lab/undo-all.js';
import { pairLabNodes } from '../lab/pair.js';

// The same job run from a with `--source peer`: b's data is kept and a is bootstrapped from it.
const sql = (node: NodeName, text: string) =>
  nodeExec(
    node,
    ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', 'fusionpbx', '-f', '-'],
    { input: text },
  );

beforeAll(async () => {
  await pairLabNodes();
  await sql(
    'b',
    `create table sp_ext (extension_uuid uuid primary key default gen_random_uuid(), extension text not null);
    create table sp_calls (id bigserial primary key, extension_uuid uuid references sp_ext, note text);
    insert into sp_ext (extension) select (1000 + g)::text from generate_series(1, 50) g;
    insert into sp_calls (extension_uuid, note) select extension_uuid, 'c' from sp_ext;`,
  );
}, 120_000);

afterAll(async () => {
  await undoEverything();
  for (const node of ['a', 'b'] as const) {
    await sql(node, 'drop table if exists sp_calls, sp_ext;');
    await nodeExec(node, ['bash', '-c', 'rm -rf /var/backups/pgduplex/*-fusionpbx']);
  }
  await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
}, 300_000);

describe('pgduplex setup --source peer (run on a, b is the source)', () => {
  it("keeps b's data, bootstraps a from it, and replicates both ways", async () => {
    const r = await nodeExec('a', ['pgduplex', 'setup', '--source', 'peer'], { reject: false, timeoutMs: 600_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(
      /changed\s+a\s+schema-import: import b's schema public into the empty schema public of fusionpbx/,
    );
    expect((await sql('a', 'select count(*) from sp_calls')).stdout.trim()).toBe('50');
    await sql('a', `insert into sp_ext (extension) values ('from-a');`);
    await sql('b', `insert into sp_calls (note) values ('from-b');`);
    await waitFor(
      'a row from a on b',
      () => sql('b', `select count(*) from sp_ext where extension = 'from-a'`),
      (x) => x.stdout.trim() === '1',
      30_000,
    );
    await waitFor(
      'a row from b on a',
      () => sql('a', `select count(*) from sp_calls where note = 'from-b'`),
      (x) => x.stdout.trim() === '1',
      30_000,
    );
    const ids = (await sql('a', `select id % 2 from sp_calls where note = 'from-b'`)).stdout.trim();
    expect(ids).toBe('1');
  });
});
