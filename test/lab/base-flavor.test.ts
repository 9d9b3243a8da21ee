import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { PairResult } from '../coordinator/versions/describe-pair.js';
import { recordPair } from '../coordinator/versions/results.js';
import {
  CACHED_DEBS_DIR,
  LAB_FLAVORS,
  PG_MAJORS,
  baseHash,
  basePath,
  currentBasePaths,
  flavorOf,
  parseFlavor,
} from './base-flavor.js';

// The lab's per-major bases and `lab up --pg`, without booting anything.
describe('lab bases per PostgreSQL major', () => {
  it("keeps 17's cache key (the trixie base every lab already has), and gives each major its own", () => {
    expect(baseHash(17)).toBe('c8eadf99fcd9737a');
    expect(new Set(LAB_FLAVORS.map((v) => baseHash(v))).size).toBe(LAB_FLAVORS.length);
    expect(currentBasePaths()).toEqual(LAB_FLAVORS.map((v) => basePath(v)));
    expect(LAB_FLAVORS).toEqual([...PG_MAJORS, '17+', '18+']);
  });

  it('builds 18 from sid and 19 from sid with the server from experimental, sid ones on the unified hierarchy', () => {
    expect(flavorOf(17)).toMatchObject({ suite: 'trixie', experimental: [], unifiedCgroup: false });
    expect(flavorOf(18).packages).toContain('postgresql-18');
    expect(flavorOf(18)).toMatchObject({ suite: 'sid', unifiedCgroup: true });
    expect(flavorOf(19).packages.filter((p) => p.startsWith('postgresql'))).toEqual([]);
    expect(flavorOf(19).experimental).toEqual(['postgresql-19', 'postgresql-client-19', 'libpq5']);
  });

  it("17+ runs trixie's 17 on sid and holds 18 (sid) and 19 (experimental) downloaded, each in a directory", () => {
    const f = flavorOf('17+');
    expect(f).toMatchObject({ key: '17+', pg: 17, suite: 'sid', experimental: [], unifiedCgroup: true });
    expect(f.packages.filter((p) => p.startsWith('postgresql'))).toEqual([]);
    expect(f.pinned).toEqual({
      suite: 'trixie',
      packages: ['postgresql-17', 'postgresql-client-17'],
      first: ['postgresql-common', 'postgresql-client-common'],
    });
    expect(f.cached).toEqual([
      { major: 18, packages: ['postgresql-18', 'postgresql-client-18'], dir: `${CACHED_DEBS_DIR}/18` },
      {
        major: 19,
        packages: ['postgresql-19/experimental', 'postgresql-client-19/experimental', 'libpq5/experimental'],
        dir: `${CACHED_DEBS_DIR}/19`,
      },
    ]);
    for (const v of PG_MAJORS) expect([flavorOf(v).key, flavorOf(v).pg, flavorOf(v).cached]).toEqual([v, v, undefined]);
  });

  it('parses a flavor named as text: majors as numbers, 17+ and 18+ as themselves, anything else null', () => {
    expect(['17', '18', '19', '17+', '18+'].map(parseFlavor)).toEqual([17, 18, 19, '17+', '18+']);
    expect(['16', '19+', '', ' 17'].map(parseFlavor)).toEqual([null, null, null, null]);
  });

  it('refuses a flavor it has no base for, naming the ones it has', () => {
    expect(() => flavorOf(16)).toThrow('no lab base for PostgreSQL 16 (the lab has 17, 18, 19, 17+, 18+)');
  });

  it('lab up --pg refuses what is not a=MAJOR,b=MAJOR of a known major with a usage error (exit 2)', async () => {
    for (const [arg, msg] of [
      ['a=16', '"a=16" is not a=MAJOR or b=MAJOR with MAJOR one of 17, 18, 19, 17+, 18+'],
      ['b=19+', '"b=19+" is not a=MAJOR'],
      ['c=17', '"c=17" is not a=MAJOR'],
      ['a=17,a=18', 'node a given twice'],
    ] as const) {
      const argv = ['--import', 'tsx', 'test/lab/cli.ts', 'up', '--no-build', '--pg', arg];
      const r = await execa(process.execPath, argv, { reject: false });
      expect(r.exitCode, arg).toBe(2);
      expect(r.stderr, arg).toContain(msg);
    }
  }, 60_000);
});

describe('bench/results/versions.json', () => {
  it('keeps one entry per pair and setup node, the newest run of it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'versions-')), 'versions.json');
    const r = (pair: string, passed: boolean): PairResult => ({
      pair,
      a: { major: 17, server: '17.6', node: 'v20.19.2' },
      b: { major: 18, server: '18.1', node: 'v24.22.2' },
      from: 'a',
      passed,
      seconds: 1,
      steps: [],
    });
    recordPair(r('17↔18', false), file);
    recordPair(r('18↔18', true), file);
    recordPair(r('17↔18', true), file);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { pairs: PairResult[] };
    expect(doc.pairs.map((p) => `${p.pair}:${p.passed}`)).toEqual(['18↔18:true', '17↔18:true']);
  });
});
