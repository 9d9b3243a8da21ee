import { execa } from 'execa';
import { basename, dirname } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRules, loadRuleTests, SHIPPED } from './monitoring.js';

// promtool comes from Debian's prometheus package (scripts/host-deps.sh installs it); without it this fails.
const promtool = (args: string[], cwd: string) => execa('promtool', args, { cwd, reject: false, stdin: 'ignore' });

beforeAll(async () => {
  const r = await execa('promtool', ['--version'], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) {
    throw new Error('promtool is missing: install Debian package prometheus (bash scripts/host-deps.sh does, as root)');
  }
});

const COMMANDS = ['pgduplex status', 'pgduplex verify', 'pgduplex health', 'journalctl -u pgduplex-agent'];
// The labels that name a node in each family's alerts: the agent's own, a direction's ends, the target.
const NODE_LABELS = /\{\{ \$labels\.(node|from|to|instance|job) \}\}/;

describe.each([['shipped', SHIPPED]])('the %s alerting rules', (_, files) => {
  const rules = loadRules(files.rules);

  it('pass promtool check rules', async () => {
    const r = await promtool(['check', 'rules', basename(files.rules)], dirname(files.rules));
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('pass their promtool unit tests', async () => {
    const r = await promtool(['test', 'rules', basename(files.ruleTests)], dirname(files.ruleTests));
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('each have a unit test that sees them fire and one that sees them quiet', () => {
    const cases = loadRuleTests(files.ruleTests).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} is never seen firing`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} is never seen quiet`,
      ).toBe(true);
    }
  });

  it('each name the node in the summary and a command to look with in the description', () => {
    for (const { alert, labels, annotations } of rules) {
      expect(labels?.severity, alert).toMatch(/^(critical|warning|info)$/);
      expect(annotations?.summary, alert).toMatch(NODE_LABELS);
      expect(
        COMMANDS.some((c) => annotations?.description?.includes(`\`${c}`)),
        `${alert}: ${annotations?.description}`,
      ).toBe(true);
    }
  });
});
