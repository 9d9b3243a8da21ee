import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { containedPath } from '../../../agent/files/contained.js';
import { PgduplexError } from '../../../shared/errors.js';

// A cluster's configuration directory and a directory outside it, as a PostgreSQL superuser could point at.
let base = '';
let conf = '';
let state = '';

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'pgdx-contained-'));
  conf = join(base, 'etc/postgresql/17/main');
  state = join(base, 'var/lib/pgduplex');
  await mkdir(join(conf, 'conf.d'), { recursive: true });
  await mkdir(state, { recursive: true });
  await writeFile(join(conf, 'pg_hba.conf'), 'local all postgres peer\n');
  await writeFile(join(state, 'identity.json'), '{}\n');
});
afterEach(() => rm(base, { recursive: true, force: true }));

const refusal = async (p: Promise<unknown>) => {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PgduplexError);
  expect((err as PgduplexError).code).toBe('PATH_NOT_ALLOWED');
  return (err as PgduplexError).message;
};

describe('containedPath', () => {
  it('gives the real path of a file inside the cluster, existing or about to be written', async () => {
    expect(await containedPath(join(conf, 'pg_hba.conf'), [conf], 'hba_file')).toBe(join(conf, 'pg_hba.conf'));
    expect(await containedPath(join(conf, 'conf.d/50-pgduplex.conf'), [conf], 'the drop-in')).toBe(
      join(conf, 'conf.d/50-pgduplex.conf'),
    );
  });

  it('refuses a hba_file, include_dir or log link that leads outside, naming where it leads', async () => {
    expect(await refusal(containedPath(join(state, 'identity.json'), [conf], 'hba_file'))).toContain(`outside ${conf}`);
    await symlink(state, join(conf, 'elsewhere'));
    expect(await refusal(containedPath(join(conf, 'elsewhere/50-pgduplex.conf'), [conf], 'the drop-in'))).toContain(
      join(state, '50-pgduplex.conf'),
    );
    await symlink(join(state, 'identity.json'), join(conf, 'log'));
    await refusal(containedPath(join(conf, 'log'), [conf], "the cluster's log"));
    await refusal(containedPath(join(conf, '../../../../var/lib/pgduplex/identity.json'), [conf], 'hba_file'));
  });

  it("does not take a directory that only starts with the root's name for one inside it", async () => {
    await mkdir(`${conf}-evil`, { recursive: true });
    await refusal(containedPath(`${conf}-evil/pg_hba.conf`, [conf], 'hba_file'));
  });

  it('says so when the directory of the path does not exist', async () => {
    expect(await refusal(containedPath(join(conf, 'missing/x.conf'), [conf], 'the drop-in'))).toContain(
      'cannot be resolved',
    );
  });
});
