import { formatFingerprint } from '../../shared/crypto/fingerprint.js';
import { pairStatusAction } from '../../shared/protocol/control.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/** Lets `pgduplex pair --accept` wait for the other node and then show the check value. */
export const pairStatusHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: pairStatusAction,
    run: async () => {
      const last = s.peers.lastPairing;
      const waiting = s.peers.gate.waiting;
      return {
        window: s.window.describe(),
        ...(waiting ? { waiting: { ...waiting, fingerprint: formatFingerprint(waiting.fingerprint) } } : {}),
        ...(last ? { paired: { ...last, fingerprint: formatFingerprint(last.fingerprint) } } : {}),
      };
    },
  });
