import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED } from './monitoring/monitoring.js';

// Builds a .deb from stand-in bundles (the real ones need `npm run build`) and looks inside it.
const ROOT = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'pgdx-deb-'));
const tree = join(work, 'tree');
const SHARE = 'usr/share/pgduplex';
let listing = '';

beforeAll(async () => {
  for (const name of ['pgduplex-agent', 'pgduplex']) {
    writeFileSync(join(work, `${name}.mjs`), `#!/usr/bin/node\nconsole.log('${name} stand-in');\n`);
  }
  const env = { PGDUPLEX_BUNDLE_DIR: work, PGDUPLEX_OUT_DIR: join(work, 'out') };
  const deb = (await execa('bash', [join(ROOT, 'packaging/build-deb.sh')], { env, stdin: 'ignore' })).stdout.trim();
  await execa('dpkg-deb', ['-x', deb, tree]);
  listing = (await execa('dpkg-deb', ['-c', deb])).stdout;
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the .deb built by packaging/build-deb.sh', () => {
  it(`ships the alerting rules, their promtool tests and the Grafana dashboard under /${SHARE}/`, () => {
    const shipped: Array<[string, string]> = [
      [`${SHARE}/prometheus/pgduplex-alerts.yml`, SHIPPED.rules],
      [`${SHARE}/prometheus/pgduplex-alerts.test.yml`, SHIPPED.ruleTests],
      [`${SHARE}/grafana/pgduplex-dashboard.json`, SHIPPED.dashboard],
    ];
    for (const [installed, source] of shipped) {
      expect(listing).toMatch(new RegExp(`^-rw-r--r-- root/root .* \\./${installed}$`, 'm'));
      expect(readFileSync(join(tree, installed), 'utf8')).toBe(readFileSync(source, 'utf8'));
    }
    expect(listing).not.toContain('pending');
    expect(listing).not.toContain('divergence');
  });

  it('the shipped rule tests pass where they are installed', async () => {
    const r = await execa('promtool', ['test', 'rules', 'pgduplex-alerts.test.yml'], {
      cwd: join(tree, SHARE, 'prometheus'),
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
});
