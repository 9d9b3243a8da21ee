import type { WebSocket } from 'ws';
import type { Transport } from '../../shared/channel/transport.js';

/**
 * Adapts a `ws` socket to the channel's Transport: binary messages only, text closes it. With
 * `heartbeatMs`, a peer that sent nothing (not even a pong) for a whole interval after a ping is cut off:
 * a partition otherwise leaves calls waiting out their full timeout on a socket that looks open.
 */
export class WsTransport implements Transport {
  private heard = true;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    heartbeatMs?: number,
  ) {
    if (!heartbeatMs) return;
    const beat = setInterval(() => {
      if (!this.heard) return void this.ws.terminate();
      this.heard = false;
      if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
    }, heartbeatMs).unref();
    const heard = () => void (this.heard = true);
    ws.on('pong', heard);
    ws.on('message', heard);
    ws.once('close', () => clearInterval(beat));
  }

  send(data: Uint8Array, onWritten?: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return onWritten?.();
    this.ws.send(data, { binary: true }, () => onWritten?.());
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING)
      this.ws.close(code, reason.slice(0, 120));
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  onMessage(listener: (data: Uint8Array) => void): void {
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary || !(data instanceof Buffer)) {
        this.close(1003, 'binary frames only');
        return;
      }
      listener(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  onClose(listener: () => void): void {
    this.ws.on('close', listener);
    this.ws.on('error', () => this.ws.terminate());
  }
}
