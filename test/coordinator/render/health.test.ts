import { describe, expect, it } from 'vitest';
import { renderReplication } from '../../../coordinator/render/health.js';
import { slotHealth, subscriptionHealth } from '../../support/replication-health.js';

const plain = {
  green: (s: string) => s,
  red: (s: string) => s,
  yellow: (s: string) => s,
  bold: (s: string) => s,
  dim: (s: string) => s,
};

describe('renderReplication', () => {
  it('lists incoming subscriptions and outgoing slots under one heading', () => {
    const lines = renderReplication(
      {
        ok: true,
        subscriptions: [subscriptionHealth({ syncErrors: 1 })],
        slots: [
          slotHealth({
            active: false,
            lagBytes: 2048,
            lagSeconds: 75,
            retainedBytes: 1048576,
            walStatus: 'extended',
            safeWalSizeBytes: null,
          }),
        ],
      },
      plain,
    );
    expect(lines).toEqual([
      'replication in  pgduplex_from_b from b: streaming, errors 0 apply / 1 sync',
      '            out pgduplex_from_a to b: inactive, lag 2.0 KiB, 1m 15s, holds 1.0 MiB of WAL (extended)',
    ]);
  });
  it('says when nothing is set up, when the section could not be read, and prints nothing without one', () => {
    expect(renderReplication({ ok: true, subscriptions: [], slots: [] }, plain)).toEqual([
      'replication not set up on this node',
    ]);
    expect(
      renderReplication({ ok: false, reason: 'PostgreSQL is not ready', subscriptions: [], slots: [] }, plain),
    ).toEqual(['replication unknown  PostgreSQL is not ready']);
    expect(renderReplication(undefined, plain)).toEqual([]);
  });
});
