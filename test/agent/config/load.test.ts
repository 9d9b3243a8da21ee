import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../../agent/config/load.js';
import { DEFAULT_PORT } from '../../../agent/config/schema.js';
import { PgduplexError } from '../../../shared/errors.js';

const FILE = '/etc/pgduplex/agent.json';

function failure(text: string): PgduplexError {
  try {
    parseAgentConfig(FILE, text);
  } catch (err) {
    expect(err).toBeInstanceOf(PgduplexError);
    return err as PgduplexError;
  }
  throw new Error(`expected ${text} to be rejected`);
}

describe('parseAgentConfig', () => {
  it('fills every default from an empty object', () => {
    const c = parseAgentConfig(FILE, '{}');
    expect(c.listen).toEqual({ host: '::', port: DEFAULT_PORT });
    expect(c.socket).toBe('/run/pgduplex/agent.sock');
    expect(c.logLevel).toBe('info');
    expect(c.postgresql).toBeUndefined();
    expect(c.limits.maxBodyBytes).toBe(4096);
  });

  it('reads monitoringHosts (default none) into the text iptables-save prints, naming a bad one', () => {
    expect(parseAgentConfig(FILE, '{}').monitoringHosts).toEqual([]);
    const c = parseAgentConfig(FILE, '{ "monitoringHosts": ["10.0.0.5", "192.0.2.0/24", "fd00::/64"] }');
    expect(c.monitoringHosts).toEqual(['10.0.0.5/32', '192.0.2.0/24', 'fd00::/64']);
    expect(failure('{ "monitoringHosts": ["10.0.0.5", "192.0.2.5/24"] }').message).toBe(
      `${FILE}: "monitoringHosts.1" has host bits set; the network is "192.0.2.0/24" (got "192.0.2.5/24")`,
    );
    expect(failure('{ "monitoringHosts": ["0.0.0.0/0"] }').message).toContain('"monitoringHosts.0"');
    expect(failure('{ "monitoringHosts": ["prometheus.lan"] }').message).toContain('hostnames are not accepted');
    expect(failure('{ "monitoringHosts": "10.0.0.5" }').message).toContain('"monitoringHosts"');
  });

  it('accepts the file the package ships', () => {
    const c = parseAgentConfig(FILE, '{ "listen": { "host": "0.0.0.0", "port": 7740 }, "logLevel": "info" }');
    expect(c.listen.port).toBe(7740);
  });

  it('names the position of a JSON syntax error', () => {
    const e = failure('{\n  "listen": { "port": 7740, }\n}');
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(`${FILE}: not valid JSON at line 2, column 29`);
  });

  it('says when the file is empty', () => {
    expect(failure('  \n').message).toBe(`${FILE}: not valid JSON (the file is empty)`);
  });

  it('names an unknown key, nested ones with their path', () => {
    expect(failure('{"lisen": {}}').message).toBe(`${FILE}: unknown key "lisen"`);
    expect(failure('{"listen": {"prot": 1}}').message).toBe(`${FILE}: unknown key "listen.prot"`);
  });

  it('escapes an unknown key, so a newline or terminal escape in it cannot break the one line', () => {
    expect(failure('{"listen": {"a\\nb\\u001b[2J\\u009b": 1}}').message).toBe(
      `${FILE}: unknown key "listen.a\\nb\\u001b[2J\\u009b"`,
    );
    expect(failure('{"nodeName": "x\\u007f"}').message).toContain('(got "x\\u007f")');
  });

  it('names a port out of range with the value it got', () => {
    expect(failure('{"listen": {"port": 70000}}').message).toBe(
      `${FILE}: "listen.port" must be between 1 and 65535 (got 70000)`,
    );
    expect(failure('{"listen": {"port": 0}}').message).toContain('"listen.port" must be between 1 and 65535');
    expect(failure('{"listen": {"port": 80.5}}').message).toContain('"listen.port" must be a whole number');
  });

  it('names a wrong type', () => {
    expect(failure('{"listen": {"port": "7740"}}').message).toBe(
      `${FILE}: "listen.port" must be a number (got "7740")`,
    );
    expect(failure('{"logLevel": "loud"}').message).toMatch(/^\/etc\/pgduplex\/agent.json: "logLevel" .*loud/);
    expect(failure('[]').message).toContain('must hold a JSON object');
  });

  it('rejects a listen host that is not an address', () => {
    expect(failure('{"listen": {"host": "example.org"}}').message).toContain(
      '"listen.host" must be an IPv4 or IPv6 address',
    );
  });

  it('counts further problems on the same line', () => {
    const e = failure('{"listen": {"port": -1}, "logLevel": 3, "x": 1}');
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.message).toMatch(/and 2 more problems/);
  });
});
