import type { Transport } from '../../shared/channel/transport.js';

/** Two connected in-memory transports, delivering asynchronously like a socket; for session tests. */
export function transportPair(
  addresses: [string, string] = ['127.0.0.1', '127.0.0.1'],
): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(addresses[1]);
  const b = new MemoryTransport(addresses[0]);
  a.other = b;
  b.other = a;
  return [a, b];
}

/** One end of an in-memory transport pair; `sent` records traffic so tests can replay or tamper. */
export class MemoryTransport implements Transport {
  other: MemoryTransport | undefined;
  closed = false;
  readonly sent: Uint8Array[] = [];
  private readonly messageListeners: Array<(d: Uint8Array) => void> = [];
  private readonly closeListeners: Array<() => void> = [];

  constructor(readonly remoteAddress: string) {}

  send(data: Uint8Array, onWritten?: () => void): void {
    if (this.closed) return onWritten?.();
    this.sent.push(data.slice());
    const peer = this.other;
    setImmediate(() => {
      peer?.deliver(data.slice());
      onWritten?.();
    });
  }

  /** Injects bytes as if the other end had sent them. */
  deliver(data: Uint8Array): void {
    if (this.closed) return;
    for (const l of [...this.messageListeners]) l(data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l();
    const peer = this.other;
    setImmediate(() => peer?.close());
  }

  onMessage(listener: (data: Uint8Array) => void): void {
    this.messageListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }
}
