import { describe, expect, it } from 'vitest';
import { confValue, parseConf } from '../../../agent/postgres/conf-parse.js';

describe('parseConf', () => {
  const sample = [
    '# - Connection Settings -',
    "data_directory = '/var/lib/postgresql/17/main'\t\t# use data in another directory",
    'port = 5433                             # (change requires restart)',
    "#listen_addresses = 'localhost'",
    "unix_socket_directories = '/var/run/postgresql' # comma-separated",
    "include_dir 'conf.d'",
    'Port 5434',
    'search_path = \'"$user", public\'',
    "quoted = 'it''s'",
  ].join('\n');

  it('reads the settings Debian writes, last assignment wins, names are case-insensitive', () => {
    const entries = parseConf(sample);
    expect(confValue(entries, 'data_directory')).toBe('/var/lib/postgresql/17/main');
    expect(confValue(entries, 'port')).toBe('5434');
    expect(confValue(entries, 'listen_addresses')).toBeUndefined();
    expect(confValue(entries, 'include_dir')).toBe('conf.d');
    expect(confValue(entries, 'search_path')).toBe('"$user", public');
    expect(confValue(entries, 'quoted')).toBe("it's");
  });

  it('records line numbers', () => {
    expect(parseConf(sample).find((e) => e.name === 'port')?.line).toBe(3);
  });

  it('ignores an unterminated quote rather than inventing a value', () => {
    expect(confValue(parseConf("a = 'oops"), 'a')).toBeUndefined();
  });

  it('decodes backslash escapes the way the server does: \b \f \n \r \t, up to three octal digits, else the character', () => {
    const value = (v: string) => confValue(parseConf(`x = ${v}`), 'x');
    expect(value(String.raw`'a\tb\nc\rd\fe\bf'`)).toBe('a\tb\nc\rd\fe\bf');
    expect(value(String.raw`'\101\1012\7'`)).toBe('AA2\x07');
    expect(value(String.raw`'C:\\dir\'s \q'`)).toBe("C:\\dir's q");
    expect(value(String.raw`'\''`)).toBe("'");
  });
});
