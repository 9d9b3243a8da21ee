import { WebSocket } from 'ws';
import { PgduplexError } from '../../shared/errors.js';
import { retry } from '../../shared/poll.js';
import type { ClientHandshake } from '../../shared/channel/handshake.js';
import { RpcEndpoint, type Dispatch } from '../../shared/channel/rpc.js';
import { SecureChannel, type ChannelLimits } from '../../shared/channel/secure-channel.js';
import type { AgentIdentity } from '../state/identity.js';
import { refusalError } from '../../shared/channel/handshake-run.js';
import { PEER_PATH, REFUSAL_HEADER } from './ws-server.js';
import { WsTransport } from './ws-transport.js';

/** An open, authenticated session to the peer with RPC on top. */
export interface PeerSession {
  channel: SecureChannel;
  rpc: RpcEndpoint;
}

/** Where the peer listens; IPv6 literals get brackets in the URL. */
export function peerUrl(address: string, port: number): string {
  return `ws://${address.includes(':') ? `[${address}]` : address}:${port}${PEER_PATH}`;
}

/** Dials the peer's agent and runs the client handshake; an unreachable peer is a typed error. */
export async function dialPeer(
  target: { address: string; port: number },
  identity: AgentIdentity,
  expect: ConstructorParameters<typeof ClientHandshake>[1],
  limits: ChannelLimits & { connectTimeoutMs: number; heartbeatMs?: number },
  dispatch: Dispatch | undefined,
): Promise<PeerSession> {
  const ws = await openSocket(target, limits);
  const channel = await SecureChannel.connect(
    new WsTransport(ws, target.address, limits.heartbeatMs),
    identity,
    expect,
    limits,
  );
  return { channel, rpc: new RpcEndpoint(channel, dispatch) };
}

const REDIAL_MS = 250;

/**
 * Failures that pass by themselves: a refused connection (the agent restarting), and a host the kernel
 * answers "unreachable" for at once while it re-resolves a neighbour that went silent (a link that just healed).
 */
const TRANSIENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Opens the websocket; a transient failure is redialled until connectTimeoutMs has passed. */
async function openSocket(
  target: { address: string; port: number },
  limits: ChannelLimits & { connectTimeoutMs: number },
): Promise<WebSocket> {
  const dial = async (): Promise<WebSocket> => {
    const ws = new WebSocket(peerUrl(target.address, target.port), {
      perMessageDeflate: false,
      maxPayload: limits.maxFrameBytes + 64,
      handshakeTimeout: limits.connectTimeoutMs,
    });
    const failure = await new Promise<NodeJS.ErrnoException | PgduplexError | undefined>((resolve) => {
      ws.once('open', () => resolve(undefined));
      ws.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      // Refused at the upgrade, before any crypto: the agent names why when it is a reason pairing states.
      ws.once('unexpected-response', (_req, res) => {
        const stated = res.headers[REFUSAL_HEADER];
        ws.terminate();
        resolve(
          res.statusCode === 403 && typeof stated === 'string'
            ? refusalError(stated)
            : new Error(`Unexpected server response: ${res.statusCode ?? 0}`),
        );
      });
    });
    if (!failure) return ws;
    if (failure instanceof PgduplexError) throw failure;
    throw new PgduplexError(
      'AGENT_UNREACHABLE',
      `cannot reach the pgduplex agent at ${target.address}:${target.port} (${failure.code ?? failure.message})`,
      {
        hint: `is pgduplex-agent running there, and does its firewall let this node in on port ${target.port}?`,
        cause: failure,
      },
    );
  };
  // A redial that could not finish before the deadline is not worth starting.
  return retry(dial, {
    timeoutMs: Math.max(0, limits.connectTimeoutMs - REDIAL_MS),
    intervalMs: REDIAL_MS,
    retriable: (err) => TRANSIENT.has(((err as PgduplexError).cause as NodeJS.ErrnoException | undefined)?.code ?? ''),
  });
}
