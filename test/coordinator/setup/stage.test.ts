import { describe, expect, it } from 'vitest';
import { atStep, stoppedAt } from '../../../coordinator/setup/stage.js';
import { runChange } from '../../../coordinator/setup/runner.js';
import type { Agents } from '../../../coordinator/setup/agents.js';
import { PgduplexError } from '../../../shared/errors.js';

describe('stoppedAt', () => {
  it('names the step and says to re-run when the error gave no hint', () => {
    const e = stoppedAt('subscription on b', new PgduplexError('AGENT_UNREACHABLE', 'the peer channel closed'));
    expect(e.code).toBe('AGENT_UNREACHABLE');
    expect(e.message).toBe('setup stopped at subscription on b: the peer channel closed');
    expect(e.hint).toMatch(
      /^check that pgduplex-agent runs on both nodes .*; then re-run pgduplex setup: finished steps are found done and skipped$/,
    );
  });

  it("keeps the error's own hint, adding the re-run only when it does not say so already", () => {
    expect(
      stoppedAt('backup on b', new PgduplexError('INTERNAL', 'disk full', { hint: 'free space there' })).hint,
    ).toBe('free space there; then re-run pgduplex setup: finished steps are found done and skipped');
    expect(
      stoppedAt('reach', new PgduplexError('PG_UNREACHABLE', 'no', { hint: 'fix it, then re-run pgduplex setup' }))
        .hint,
    ).toBe('fix it, then re-run pgduplex setup');
    expect(stoppedAt('verify', new Error('boom')).message).toBe('setup stopped at verify: boom');
  });

  it('leaves refusals alone: they ask for a decision, nothing broke', () => {
    const refusal = new PgduplexError('BAD_PARAMS', 'setup would destroy b', { hint: 'pass --replace-peer-data' });
    expect(stoppedAt('preflight', refusal)).toBe(refusal);
  });
});

describe('atStep', () => {
  it('names the innermost step only', async () => {
    const inner = atStep('pg-hba on b', () =>
      Promise.reject(new PgduplexError('TIMEOUT', 'the peer did not answer pg-hba.apply within 30000 ms')),
    );
    const err = await atStep('configure', () => inner).catch((e: unknown) => e as PgduplexError);
    expect(err.message).toBe('setup stopped at pg-hba on b: the peer did not answer pg-hba.apply within 30000 ms');
  });

  it('runChange names the action and node of the step that failed', async () => {
    const agents: Agents = {
      call: () => Promise.reject(new PgduplexError('AGENT_UNREACHABLE', 'the peer channel closed')),
    };
    const err = await runChange(
      agents,
      { side: 'peer', node: 'b', action: 'publication', params: {} },
      { dryRun: false, report: () => undefined },
    ).then(
      () => undefined,
      (e: unknown) => e as PgduplexError,
    );
    expect(err?.message).toBe('setup stopped at publication on b: the peer channel closed');
  });
});
