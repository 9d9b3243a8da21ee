import { describe, expect, it } from 'vitest';
import {
  loadDashboard,
  loadRuleTests,
  metricNames,
  PROMETHEUS_SERIES,
  queriedMetrics,
  SHIPPED,
  seriesShape,
  servedFamilies,
  TARGET_LABELS,
} from './monitoring.js';

const served = servedFamilies();
const known = (name: string) => served.has(name) || PROMETHEUS_SERIES.has(name);

describe('metricNames', () => {
  it('finds the selected metrics, not functions, labels, keywords, durations, strings or Grafana variables', () => {
    expect(
      metricNames(
        'sum by (instance, outcome) (rate(pgduplex_peer_connections_total{job="$job",x=~"a|b"}[$__rate_interval]))' +
          ' * on (instance, job) group_left (node) pgduplex_agent_info > bool 0.25 * 1e9 offset 5m',
      ),
    ).toEqual(['pgduplex_agent_info', 'pgduplex_peer_connections_total']);
    expect(metricNames('absent(up{job="pgduplex"}) or time() - foo:bar_seconds unless ${x} and vector(1)')).toEqual([
      'foo:bar_seconds',
      'up',
    ]);
  });
});

describe('what the rules and the dashboard query', () => {
  it('the agent has families to serve, as /metrics renders them', () => {
    expect(served.get('pgduplex_slot_safe_wal_size_bytes')).toEqual(new Set(['slot', 'from', 'to']));
    expect(served.get('pgduplex_subscription_conflicts_total')).toEqual(
      new Set(['subscription', 'from', 'to', 'conflict']),
    );
  });

  it('is only families /metrics serves (and Prometheus own up)', () => {
    const queried = queriedMetrics();
    expect(queried.filter((q) => q.where !== 'dashboard').length).toBeGreaterThan(0);
    expect(queried.filter((q) => q.where === 'dashboard').length).toBeGreaterThan(0);
    expect(queried.filter((q) => !known(q.name)).map((q) => `${q.where}: ${q.name}`)).toEqual([]);
  });

  it('every panel queries something', () => {
    for (const p of loadDashboard().panels) expect(p.targets?.length, p.title).toBeGreaterThan(0);
  });

  // The unit tests of the rules would prove little if their input looked unlike what an agent serves.
  it('the rule tests feed series shaped as /metrics serves them (family and labels, plus instance and job)', () => {
    const odd: string[] = [];
    for (const s of loadRuleTests(SHIPPED.ruleTests).tests.flatMap((t) => t.input_series)) {
      const { name, labels } = seriesShape(s.series);
      const allowed = new Set([...(served.get(name) ?? []), ...TARGET_LABELS]);
      if (!known(name)) odd.push(`${name}: not served`);
      for (const l of labels) if (!allowed.has(l)) odd.push(`${name}: label ${l} is not served`);
    }
    expect(odd).toEqual([]);
  });
});
