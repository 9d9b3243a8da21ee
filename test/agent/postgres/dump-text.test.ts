import { describe, expect, it } from 'vitest';
import { prepareDump, psqlHasRestrict, restrictedScript } from '../../../agent/postgres/dump-text.js';

const HONEST = [
  '\\restrict AbC123',
  'SET statement_timeout = 0;',
  "SELECT pg_catalog.set_config('search_path', '', false);",
  'CREATE SCHEMA public;',
  "COMMENT ON SCHEMA public IS 'standard public schema';",
  'CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;',
  'COMMENT ON EXTENSION "uuid-ossp" IS \'generate universally unique identifiers (UUIDs)\';',
  'CREATE TABLE public.v_users (user_uuid uuid DEFAULT public.uuid_generate_v4() NOT NULL);',
  '\\unrestrict AbC123',
].join('\n');

describe('prepareDump', () => {
  it("keeps an honest dump's SQL and drops its restrict, schema and extension lines", () => {
    const d = prepareDump(HONEST, 'public');
    expect(d.refused).toEqual([]);
    expect(d.sql.split('\n')).toEqual([
      'SET statement_timeout = 0;',
      "SELECT pg_catalog.set_config('search_path', '', false);",
      'CREATE TABLE public.v_users (user_uuid uuid DEFAULT public.uuid_generate_v4() NOT NULL);',
    ]);
  });

  it('refuses meta-commands, owners and grants, naming the line', () => {
    const d = prepareDump(
      ['SET x = 1;', '\\! id', 'ALTER TABLE public.t OWNER TO postgres;', 'GRANT ALL ON TABLE public.t TO x;'].join(
        '\n',
      ),
      'public',
    );
    expect(d.refused).toEqual([
      'line 2, a psql meta-command: \\! id',
      expect.stringMatching(/^line 3, an owner .*OWNER TO postgres;$/),
      expect.stringMatching(/^line 4, a grant .*TO x;$/),
    ]);
  });

  it('refuses owner and grant lines in lower case too', () => {
    expect(
      prepareDump('alter table public.t owner to postgres;\ngrant all on public.t to x;', 'public').refused,
    ).toHaveLength(2);
  });

  it('does not drop a CREATE SCHEMA of another schema, nor a restrict line with other text', () => {
    const d = prepareDump('CREATE SCHEMA evil;\n\\restrict k; select 1', 'public');
    expect(d.sql).toBe('CREATE SCHEMA evil;');
    expect(d.refused).toEqual(['line 2, a psql meta-command: \\restrict k; select 1']);
  });

  it('shows control characters in a refused line as ?', () => {
    expect(prepareDump('\\echo \u001b[2J\u0007', 'public').refused).toEqual([
      'line 1, a psql meta-command: \\echo ?[2J?',
    ]);
  });
});

describe('restrictedScript', () => {
  it('starts with a \\restrict of a fresh random key', () => {
    const a = restrictedScript('select 1;');
    const b = restrictedScript('select 1;');
    expect(a).toMatch(/^\\restrict [0-9a-f]{48}\nselect 1;\n$/);
    expect(a).not.toBe(b);
  });
});

describe('psqlHasRestrict', () => {
  it.each([
    ['17.12', true],
    ['17.6', true],
    ['17.5', false],
    ['16.10', true],
    ['16.9', false],
    ['15.14', true],
    ['18.0', true],
    ['19rc1', true],
    ['12.22', false],
    ['unknown', false],
  ])('%s → %s', (v, yes) => expect(psqlHasRestrict(v)).toBe(yes));
});
