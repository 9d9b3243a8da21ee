/** A message-oriented byte link (a websocket, or an in-memory pair in tests) the channel runs over. */
export interface Transport {
  /** `onWritten` fires once the bytes left for the network: the sender's backpressure signal. */
  send(data: Uint8Array, onWritten?: () => void): void;
  close(code: number, reason: string): void;
  onMessage(listener: (data: Uint8Array) => void): void;
  onClose(listener: () => void): void;
  /** Address of the other end as the network sees it, for policy and logs. */
  readonly remoteAddress: string;
}
