import { describe, expect, it } from 'vitest';
import { copyWindowMs, secondsPerStep, stepOf, type TimedLine } from '../../../bench/setup/lines.js';

const run: TimedLine[] = [
  { ms: 400, text: 'ok       a      preflight: PostgreSQL 170011, database fusionpbx' },
  {
    ms: 4_900,
    text: 'changed  a      firewall: allow tcp/5432 (postgresql) from 10.231.7.12 in chain PGDUPLEX (iptables)',
  },
  { ms: 5_200, text: 'changed  b      publication: created publication pgduplex_pub in fusionpbx for all tables' },
  {
    ms: 5_600,
    text: 'changed  b      subscription: create subscription pgduplex_from_a in fusionpbx to publication pgduplex_pub at 10.231.7.11:5432 (origin=none, copy_data=true, streaming=parallel)',
  },
  { ms: 5_700, text: '...      b      initial copy: 0/19 tables ready' },
  { ms: 8_000, text: '...      b      initial copy: 18/19 tables ready' },
  { ms: 27_000, text: '...      b      initial copy: 19/19 tables ready' },
  {
    ms: 27_500,
    text: 'changed  a      subscription: create subscription pgduplex_from_b in fusionpbx to publication pgduplex_pub at 10.231.7.12:5432 (origin=none, copy_data=false, streaming=parallel)',
  },
  { ms: 34_000, text: 'ok       a+b    verify: 19 tables identical (rows and checksums)' },
  { ms: 34_010, text: '30 changes (a: 15, b: 15); both databases agree (33.9 s)' },
];

describe('setup task lines', () => {
  it('names the step of a task line; anything else is the summary', () => {
    expect(stepOf(run[5]?.text ?? '')).toBe('initial copy');
    expect(stepOf(run[1]?.text ?? '')).toBe('firewall');
    expect(stepOf(run[9]?.text ?? '')).toBe('summary');
  });

  it('charges the time up to each line to its step and adds up to the whole run', () => {
    const per = secondsPerStep(run);
    expect(per['initial copy']).toBe(21.4);
    expect(per['subscription']).toBe(0.9);
    expect(per['verify']).toBe(6.5);
    expect(Object.values(per).reduce((a, b) => a + b, 0)).toBeCloseTo(34.01, 5);
  });

  it('times the copy from before the copying subscription to all tables ready, ignoring the reverse subscription', () => {
    expect(copyWindowMs(run)).toEqual({ startMs: 5_200, endMs: 27_000 });
    expect(copyWindowMs(run.filter((l) => !l.text.includes('19/19')))).toBeUndefined();
    expect(copyWindowMs(run.slice(7))).toBeUndefined();
  });
});
