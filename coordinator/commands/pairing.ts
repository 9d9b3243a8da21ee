import { parseToken } from '../../shared/crypto/token.js';
import { poll } from '../../shared/poll.js';
import { PgduplexError } from '../../shared/errors.js';
import {
  pairAcceptAction,
  pairConfirmAction,
  pairConnectAction,
  pairStatusAction,
  peersListAction,
  unpairAction,
  whoamiAction,
} from '../../shared/protocol/control.js';
import { callAgent } from '../agent-client.js';
import { palette } from '../render/format.js';
import { jsonText, safeDeep, safeLine } from '../render/safe-text.js';
import { askYesNo } from '../render/tasks.js';

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

/** `pgduplex whoami`: this node's fingerprint, to read aloud to the other screen. */
export async function whoamiCommand(o: { socket: string; json: boolean }): Promise<number> {
  const r = await callAgent(o.socket, whoamiAction, {});
  const v = safeDeep(r);
  if (o.json) out(jsonText(r, 2));
  else out(`${v.node}  ${v.fingerprint}  (pgduplex-agent ${v.version}, port ${v.port}/tcp)`);
  return 0;
}

/** `pgduplex pair --accept ADDR`: open the window, print the token, wait until the other node pairs. */
export async function pairAcceptCommand(o: {
  socket: string;
  address: string;
  wait: boolean;
  json: boolean;
  fingerprint?: string;
}): Promise<number> {
  // A token alone never makes this node trust anyone: its operator confirms the joiner, now or in advance.
  const interactive = o.wait && !o.json && process.stdin.isTTY === true;
  if (o.fingerprint === undefined && !interactive) {
    throw new PgduplexError(
      'USAGE',
      `without a terminal to confirm the other node on, give its fingerprint: pgduplex pair --accept ${o.address} ` +
        `--fingerprint FP`,
      {
        hint: `FP is what "pgduplex whoami" prints on ${o.address}`,
      },
    );
  }
  const r = await callAgent(o.socket, pairAcceptAction, {
    address: o.address,
    ...(o.fingerprint === undefined ? {} : { fingerprint: o.fingerprint }),
  });
  const c = palette(process.stdout);
  if (o.json) out(jsonText(r, 2));
  else {
    const v = safeDeep(r);
    out(`${v.firewall}.`);
    out(`This node's fingerprint: ${v.fingerprint}`);
    out(`\nOn ${o.address}, run as root (valid until ${v.expiresAt}, once), and paste the token when it asks:\n`);
    out(`  ${c.bold("pgduplex pair <this node's address> -")}`);
    out(`  ${c.bold(v.token)}\n`);
  }
  if (!o.wait) return 0;
  if (!o.json) out(`Waiting for the other node to pair (Ctrl-C stops waiting; the window stays open)...`);
  let asked = false;
  // No deadline of its own: the pairing window's expiry ends the wait.
  const paired = async (): Promise<number | undefined> => {
    const s = await callAgent(o.socket, pairStatusAction, {});
    if (s.waiting && !asked && o.fingerprint === undefined) {
      asked = true;
      // The joiner named itself: shown as text, and its fingerprint confirmed exactly as the agent gave it.
      const w = safeDeep(s.waiting);
      out(`\n${w.node} at ${w.address} wants to pair: fingerprint ${w.fingerprint}, check code ${c.bold(w.check)}.`);
      const yes = await askYesNo(`Does ${w.address} show the same check code? Trust ${w.node}?`);
      await callAgent(o.socket, pairConfirmAction, { fingerprint: s.waiting.fingerprint, accept: yes });
      if (!yes)
        throw new PgduplexError('NOT_CONFIRMED', `${w.node} at ${w.address} was not trusted; nothing was stored`, {
          hint: 'if the codes differed, someone sat in between: find out before pairing again',
        });
      return undefined;
    }
    if (s.paired && s.window.open === false && s.window.used !== false) {
      const p = safeDeep(s.paired);
      if (o.json) out(jsonText(s.paired, 2));
      else
        out(
          `Paired with ${p.node} (${p.fingerprint}). Check code: ${c.bold(p.check)} — it must ` +
            `match the one shown on ${p.node}.`,
        );
      return 0;
    }
    if (!s.window.open && !s.waiting) {
      const why = s.window.locked
        ? 'locked after too many wrong tokens'
        : s.window.used
          ? 'used, and the pairing refused'
          : 'expired';
      throw new PgduplexError('PAIRING_CLOSED', `the pairing window closed (${why}) before a peer paired`, {
        hint: 'run "pgduplex pair --accept" again for a fresh token',
      });
    }
    return undefined;
  };
  return poll(paired, { timeoutMs: Infinity, intervalMs: 1000, expired: () => 0 });
}

/** `pgduplex pair ADDR TOKEN`: pair with the node that printed the token. */
export async function pairConnectCommand(o: {
  socket: string;
  address: string;
  token: string;
  port?: number;
  json: boolean;
}): Promise<number> {
  parseToken(o.token);
  const onProgress = (e: { message: string }) =>
    void (
      !o.json && out(`${safeLine(e.message[0]?.toUpperCase() ?? '')}${safeLine(e.message.slice(1))}; waiting for it...`)
    );
  // The other node's operator may take the pairing window's 10 minutes to compare the codes.
  const params = { address: o.address, token: o.token, ...(o.port === undefined ? {} : { port: o.port }) };
  const r = await callAgent(o.socket, pairConnectAction, params, { timeoutMs: 12 * 60_000, onProgress });
  if (o.json) out(jsonText(r, 2));
  else {
    const c = palette(process.stdout);
    const v = safeDeep(r);
    out(`${v.firewall}.`);
    out(
      `Paired with ${v.peer.node} at ${v.peer.address} (${v.peer.fingerprint}). Check code: ${c.bold(v.check)} — it ` +
        `must match the one shown on ${v.peer.node}.`,
    );
  }
  return 0;
}

/** `pgduplex peers`: the paired peer, reachable or not, with the round trip of a call that ran there. */
export async function peersCommand(o: { socket: string; json: boolean }): Promise<number> {
  const peers = await callAgent(o.socket, peersListAction, {});
  if (o.json) out(jsonText(peers, 2));
  else if (peers.length === 0)
    out('No peer. Pair with "pgduplex pair --accept <address>" on one node and "pgduplex pair" on the other.');
  const c = palette(process.stdout);
  if (!o.json) {
    for (const p of safeDeep(peers)) {
      const state = p.reachable
        ? `${c.green('reachable')} ${p.rttMs} ms, agent ${p.peerVersion ?? '?'}`
        : `${c.red('UNREACHABLE')} ${p.error ?? ''}`;
      out(`${p.node}  ${p.address}:${p.port}  ${p.fingerprint}  paired ${p.pairedAt}  ${state}`);
      if (p.allows)
        out(`  may replicate here: database ${p.allows.databases.join(', ')} (schema ${p.allows.schemas.join(', ')})`);
    }
  }
  return peers.every((p) => p.reachable) ? 0 : 1;
}

/** `pgduplex unpair`: forget the peer on both sides and close what pairing opened. */
export async function unpairCommand(o: { socket: string; json: boolean }): Promise<number> {
  const r = await callAgent(o.socket, unpairAction, {});
  if (o.json) out(jsonText(r, 2));
  else if (!r.removed) out('This node is not paired; nothing to do.');
  else {
    const removed = safeDeep(r.removed);
    const peerSide = r.peerConfirmed
      ? `${removed.node} removed this node too`
      : `${removed.node} could not be told: run "pgduplex unpair" there as well`;
    out(`Unpaired from ${removed.node} (${removed.address}); ${peerSide}.`);
  }
  return 0;
}
