import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RefusalLog } from '../../../agent/peer/refusal-log.js';
import type { Logger } from '../../../shared/log.js';

const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
const log = {
  warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
} as unknown as Logger;

beforeEach(() => {
  vi.useFakeTimers();
  lines.length = 0;
});
afterEach(() => vi.useRealTimers());

describe('RefusalLog', () => {
  it('logs the first refusal at once and sums up the rest in one line per interval', () => {
    const r = new RefusalLog(log, 1000);
    for (let i = 0; i < 500; i++) r.note(`10.0.0.${i % 20}`, i % 2 ? 'PEER_NOT_TRUSTED' : 'BUSY');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toEqual({ peer: '10.0.0.0', code: 'BUSY' });
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(2);
    expect(lines[1]?.fields).toMatchObject({ refused: 499, codes: { PEER_NOT_TRUSTED: 250, BUSY: 249 } });
    expect(lines[1]?.fields['addresses']).toHaveLength(8);
    r.note('10.0.0.1', 'BUSY');
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(3);
    expect(lines[2]?.fields).toMatchObject({ refused: 1 });
  });

  it('logs at once again after a quiet interval', () => {
    const r = new RefusalLog(log, 1000);
    r.note('10.0.0.1', 'PEER_NOT_TRUSTED');
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(1);
    r.note('10.0.0.2', 'PEER_NOT_TRUSTED');
    expect(lines).toHaveLength(2);
    expect(lines[1]?.fields).toEqual({ peer: '10.0.0.2', code: 'PEER_NOT_TRUSTED' });
    r.close();
  });
});
