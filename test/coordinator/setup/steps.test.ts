import { describe, expect, it } from 'vitest';
import {
  configureSteps,
  listenCovering,
  listenFor,
  walKeepBytes,
  type PairFacts,
} from '../../../coordinator/setup/steps.js';

const f: PairFacts = {
  database: 'fusionpbx',
  source: { side: 'local', node: 'a', address: '10.0.0.1' },
  target: { side: 'peer', node: 'b', address: 'fd00::2' },
  pgPort: 5432,
};

describe('listenCovering', () => {
  it('leaves a value alone that already covers the address', () => {
    expect(listenCovering('*', '10.0.0.1')).toBeUndefined();
    expect(listenCovering('localhost, 0.0.0.0', '10.0.0.1')).toBeUndefined();
    expect(listenCovering('::', 'fd00::2')).toBeUndefined();
    expect(listenCovering('localhost,10.0.0.1', '10.0.0.1')).toBeUndefined();
  });
  it('adds the address the peer uses otherwise', () => {
    expect(listenCovering('localhost', '10.0.0.1')).toBe('localhost,10.0.0.1');
    expect(listenCovering('0.0.0.0', 'fd00::2')).toBe('0.0.0.0,fd00::2');
    expect(listenCovering('', '10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('listenFor', () => {
  it("decides on the configuration without pgduplex's drop-in, so a re-run keeps the address it added", () => {
    // What a node runs after a first setup: its own drop-in widened localhost; the files alone say localhost.
    const afterFirstRun = { value: 'localhost,10.0.0.1', base: 'localhost' };
    expect(listenFor(afterFirstRun, '10.0.0.1')).toBe('localhost,10.0.0.1');
    expect(listenFor({ value: '*', base: '*' }, '10.0.0.1')).toBeUndefined();
    expect(listenFor({ value: 'localhost' }, '10.0.0.1')).toBe('localhost,10.0.0.1');
    expect(listenFor(undefined, '10.0.0.1')).toBe('localhost,10.0.0.1');
  });
});

describe('configureSteps', () => {
  it('opens each node to the other and adds listen_addresses only where asked', () => {
    const steps = configureSteps(f, { peer: 'localhost,fd00::2' });
    expect(steps.map((s) => `${s.node} ${s.action}`)).toEqual([
      'a firewall',
      'a pg-settings',
      'a pg-hba',
      'b firewall',
      'b pg-settings',
      'b pg-hba',
    ]);
    expect(steps[0]?.params).toMatchObject({ peer: 'fd00::2' });
    expect(steps[3]?.params).toMatchObject({ peer: '10.0.0.1' });
    expect((steps[1]?.params as { settings: Record<string, string> }).settings).not.toHaveProperty('listen_addresses');
    expect((steps[4]?.params as { settings: Record<string, string> }).settings).toMatchObject({
      wal_level: 'logical',
      listen_addresses: 'localhost,fd00::2',
    });
  });
});

describe('max_slot_wal_keep_size', () => {
  it('reads sizes of at least one 16 MB segment in MB, GB or TB', () => {
    expect(walKeepBytes('16MB')).toBe(16 * 1024 ** 2);
    expect(walKeepBytes('10GB')).toBe(10 * 1024 ** 3);
    expect(walKeepBytes('1TB')).toBe(1024 ** 4);
    for (const bad of ['15MB', '0MB', '-1', '64', '64mb', '1.5GB', '064MB', ' 64MB', '64MB;'])
      expect(walKeepBytes(bad), bad).toBeUndefined();
  });
  it("goes into both nodes' settings, 10GB unless asked otherwise", () => {
    const settings = (steps: ReturnType<typeof configureSteps>) =>
      steps
        .filter((s) => s.action === 'pg-settings')
        .map((s) => (s.params as { settings: Record<string, string> }).settings['max_slot_wal_keep_size']);
    expect(settings(configureSteps(f))).toEqual(['10GB', '10GB']);
    expect(settings(configureSteps(f, {}, '64MB'))).toEqual(['64MB', '64MB']);
  });
});
