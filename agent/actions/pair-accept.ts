import { FINGERPRINT_CHARS, formatFingerprint, normalizeFingerprint } from '../../shared/crypto/fingerprint.js';
import { formatToken } from '../../shared/crypto/token.js';
import { PgduplexError } from '../../shared/errors.js';
import { pairAcceptAction } from '../../shared/protocol/control.js';
import { parseHostAddress } from '../firewall/address.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

/**
 * Opens this node's agent port for one address and a 10-minute, single-use pairing window (for one key, when
 * given).
 */
export const pairAcceptHandler = (s: AgentServices) =>
  defineHandler({
    descriptor: pairAcceptAction,
    run: async ({ address, fingerprint }) => {
      const host = parseHostAddress(address);
      const paired = s.trust.peer;
      if (paired) {
        throw new PgduplexError(
          'ALREADY_PAIRED',
          `this node is already paired with ${paired.node} (${paired.address})`,
          { hint: 'run "pgduplex unpair" first if you mean to replace it' },
        );
      }
      const expected = fingerprint === undefined ? undefined : normalizeFingerprint(fingerprint);
      if (expected !== undefined && expected.length !== FINGERPRINT_CHARS) {
        throw new PgduplexError(
          'BAD_PARAMS',
          `--fingerprint ${fingerprint} has ${expected.length} characters, not ${FINGERPRINT_CHARS}`,
          { hint: 'copy it from "pgduplex whoami" on the other node' },
        );
      }
      // A new window: the check code `pair --accept` waits to show can only be this window's.
      s.peers.lastPairing = undefined;
      // The window first, then the port: the port closes again when the window ends unpaired (WindowPort).
      const {
        token,
        expiresAt,
        firewall: fw,
      } = await s.peers.windowPort.open(host.address, s.identity.fingerprint, expected);
      const opened = fw.changed
        ? `opened port ${s.port}/tcp for ${host.address}`
        : `port ${s.port}/tcp was already open for ${host.address}`;
      return {
        token: formatToken(token),
        fingerprint: formatFingerprint(s.identity.fingerprint),
        expiresAt,
        firewall: `${opened}${fw.note ? ` (${fw.note})` : ''}`,
      };
    },
  });
