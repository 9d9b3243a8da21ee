import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderMetrics, type MetricsInput } from '../../../agent/health/metrics.js';
import { slotHealth, subscriptionHealth } from '../../support/replication-health.js';

/** Where the rules, their tests and the dashboard live in the source tree. */
export const MONITORING_DIR = join(import.meta.dirname, '../../../packaging/monitoring');

/** The files the .deb ships: rules and their promtool tests under prometheus/, the dashboard under grafana/. */
export const SHIPPED = {
  rules: join(MONITORING_DIR, 'pgduplex-alerts.yml'),
  ruleTests: join(MONITORING_DIR, 'pgduplex-alerts.test.yml'),
  dashboard: join(MONITORING_DIR, 'pgduplex-dashboard.json'),
};

/** Series Prometheus makes itself rather than scraping them; the rules may use these too. */
export const PROMETHEUS_SERIES = new Set(['up']);

/** Labels Prometheus adds to every scraped series. */
export const TARGET_LABELS = ['instance', 'job'];

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The alerting rules of one rule file, from all its groups. */
export function loadRules(path: string): AlertRule[] {
  const doc = parse(readFileSync(path, 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

export interface RuleTests {
  tests: Array<{
    input_series: Array<{ series: string; values: string }>;
    alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }>;
  }>;
}

/** A promtool rule-test file. */
export const loadRuleTests = (path: string): RuleTests => parse(readFileSync(path, 'utf8')) as RuleTests;

export interface DashboardJson {
  panels: Array<{ title: string; type: string; targets?: Array<{ expr?: string }> }>;
  templating?: { list: Array<{ name: string; type: string; query?: unknown }> };
}

export const loadDashboard = (): DashboardJson => JSON.parse(readFileSync(SHIPPED.dashboard, 'utf8')) as DashboardJson;

/** Every PromQL expression the dashboard runs: panel targets, and the series behind its query variables. */
export function dashboardExprs(d: DashboardJson): string[] {
  const targets = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const variables = (d.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => {
      const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
      // label_values(SERIES, LABEL) and label_values(LABEL): only SERIES is PromQL.
      return /^label_values\((.*),\s*\w+\)$/.exec(q)?.[1] ?? '';
    });
  return [...targets, ...variables];
}

/** Every metric the shipped rules and dashboard query, with where (`alert name` or `dashboard`), for messages. */
export function queriedMetrics(): Array<{ where: string; name: string }> {
  return [
    ...loadRules(SHIPPED.rules).flatMap((r) => metricNames(r.expr).map((name) => ({ where: r.alert, name }))),
    ...dashboardExprs(loadDashboard()).flatMap((e) => metricNames(e).map((name) => ({ where: 'dashboard', name }))),
  ];
}

// Words of PromQL that look like metric names: binary operators, modifiers, aggregations, literals.
const NOT_METRICS = new Set(
  (
    'and or unless by without on ignoring group_left group_right bool offset inf nan atan2 ' +
    'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'
  ).split(' '),
);

/** The metric names a PromQL expression selects (not functions, labels or keywords); a small lexer, not a parser. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = [...bare.matchAll(/(?<![\w:.])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)].map((m) => m[0]);
  return [...new Set(names.filter((n) => !NOT_METRICS.has(n)))].sort();
}

/** One of everything /metrics can serve, so that every family has samples and so its labels. */
const FULL_INPUT: MetricsInput = {
  version: '0.0.0',
  node: 'a',
  postgresUp: true,
  probeAgeSeconds: 0,
  replication: {
    ok: true,
    subscriptions: [subscriptionHealth({ conflicts: { update_origin_differs: 0 } })],
    slots: [slotHealth()],
  },
  outcomes: [['replication.status', { ok: true, at: 0 }]],
  peerConnections: { refused: 0, busy: 0, handshakes: 0 },
  watch: {
    version: 1,
    database: 'fusionpbx',
    cursor: { table: 'public.v_users', after: ['1'], found: [], foundCount: 0 },
    passStartedAt: '2026-01-01T00:00:00.000Z',
    lastPassAt: null,
    lastRoundAt: '2026-01-01T00:01:00.000Z',
    tablesDone: 1,
    tablesTotal: 2,
    tables: {
      'public.v_domains': {
        checkedAt: '2026-01-01T00:01:00.000Z',
        lastEqualAt: '2026-01-01T00:00:30.000Z',
        differing: 0,
        sample: [],
      },
    },
  },
};

/** The families the agent's /metrics serves, each with the label names its samples carry (Prometheus adds more). */
export function servedFamilies(text = renderMetrics(FULL_INPUT)): Map<string, Set<string>> {
  const families = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^# TYPE (\S+) /gm)) families.set(m[1] as string, new Set());
  for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/gm)) {
    const labels = families.get(m[1] as string);
    for (const l of (m[2] ?? '').matchAll(/(\w+)="/g)) labels?.add(l[1] as string);
  }
  return families;
}

/** A promtool input series (`name{a="1",b="2"}`) as its metric name and label names. */
export function seriesShape(series: string): { name: string; labels: string[] } {
  const m = /^\s*([a-zA-Z_:][\w:]*)\s*(?:\{(.*)\})?\s*$/s.exec(series);
  if (!m) throw new Error(`not a series: ${series}`);
  const matchers = (m[2] ?? '').replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return { name: m[1] as string, labels: [...matchers.matchAll(/(\w+)\s*=/g)].map((l) => l[1] as string) };
}
