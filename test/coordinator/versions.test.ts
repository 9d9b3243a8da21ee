import { describe, expect, it } from 'vitest';
import { compatible, mixedVersionNote, newerVersion, requireOneRelease } from '../../coordinator/versions.js';
import { PgduplexError } from '../../shared/errors.js';

const pair = (a: string | null, b: string | null) =>
  [
    { node: 'a', version: a },
    { node: 'b', version: b },
  ] as const;
const refusal = (f: () => void): PgduplexError => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PgduplexError);
    return err as PgduplexError;
  }
  throw new Error('did not refuse');
};

describe('versions of a pair mid-upgrade', () => {
  it('orders versions numerically, not as text', () => {
    expect(newerVersion('0.10.0', '0.9.3')).toBe('0.10.0');
    expect(newerVersion('0.1.0', '0.2.0')).toBe('0.2.0');
    expect(compatible('0.2.0', '0.2.5')).toBe(true);
  });

  it('has no note for one version, or when a peer could not be asked', () => {
    expect(mixedVersionNote(pair('0.2.0', '0.2.0'))).toBeUndefined();
    expect(mixedVersionNote(pair('0.2.0', null))).toBeUndefined();
    expect(mixedVersionNote(undefined)).toBeUndefined();
  });

  it('names both versions and the node to upgrade, whichever side is older', () => {
    const note = mixedVersionNote(pair('0.1.0', '0.2.0'));
    expect(note).toBe(
      'the agents run different pgduplex versions (a 0.1.0, b 0.2.0): ' +
        'replication keeps running, status and teardown work; setup refuses until both run 0.2.0: ' +
        'upgrade the .deb on a (apt install ./pgduplex_0.2.0_all.deb)',
    );
    expect(mixedVersionNote(pair('0.2.1', '0.2.0'))).toContain('setup works as well');
  });

  it('lets setup run on one release line only, with a stable code, both versions and what to do', () => {
    expect(() => requireOneRelease(pair('0.2.0', '0.2.3'), '0.2.0')).not.toThrow();
    const e = refusal(() => requireOneRelease(pair('0.2.0', '0.1.0'), '0.2.0'));
    expect(e.code).toBe('VERSION_MISMATCH');
    expect(e.message).toBe('setup needs both agents on one pgduplex release: a runs 0.2.0, b runs 0.1.0');
    expect(e.hint).toContain('nothing was changed; upgrade the .deb on b (apt install ./pgduplex_0.2.0_all.deb), then');
    expect(e.hint).toContain('status and teardown work');
  });

  it('refuses both agents on a release other than the CLI, naming the one to restart or upgrade', () => {
    const e = refusal(() => requireOneRelease(pair('0.1.0', '0.1.0'), '0.2.0'));
    expect(e.code).toBe('VERSION_MISMATCH');
    expect(e.message).toBe('the agent on a runs pgduplex 0.1.0, this pgduplex is 0.2.0');
    expect(e.hint).toContain('systemctl restart pgduplex-agent');
  });
});
