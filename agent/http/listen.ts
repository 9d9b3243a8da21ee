import { chmod, mkdir, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { PgduplexError } from '../../shared/errors.js';

/**
 * Listens on TCP; a taken port or a foreign address becomes a typed error, not a crash. `::` means
 * every address, IPv4 included; on a host with IPv6 disabled it falls back to 0.0.0.0.
 */
export async function listenTcp(server: Server, host: string, port: number): Promise<string> {
  try {
    await listenOnce(server, host, port);
    return host;
  } catch (err) {
    const cause = (err as PgduplexError).cause as NodeJS.ErrnoException | undefined;
    if (host !== '::' || (cause?.code !== 'EAFNOSUPPORT' && cause?.code !== 'EADDRNOTAVAIL')) throw err;
    await listenOnce(server, '0.0.0.0', port);
    return '0.0.0.0';
  }
}

function listenOnce(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new PgduplexError('LISTEN_FAILED', `cannot listen on ${host}:${port} (${err.code ?? err.message})`, {
          hint:
            err.code === 'EADDRINUSE'
              ? `another process holds port ${port}; change "listen.port" in agent.json or stop it`
              : 'check "listen.host" in agent.json: it must be an address of this node',
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Listens on a root-only (0600) unix socket, replacing a stale one but never a live agent's. */
export async function listenUnix(server: Server, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (await isLive(path)) {
    throw new PgduplexError('SOCKET_IN_USE', `another agent already answers on ${path}`, {
      hint: 'stop it first (systemctl stop pgduplex-agent)',
    });
  }
  await unlink(path).catch(() => undefined);
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  await chmod(path, 0o600);
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
