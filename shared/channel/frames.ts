import nacl from 'tweetnacl';
import { PgduplexError } from '../errors.js';

/** Direction bytes in the nonce: a frame reflected back at its sender can never open. */
export const CLIENT_TO_SERVER = 0x43;
export const SERVER_TO_CLIENT = 0x53;

/** Nonce = direction byte, 15 zero bytes, 64-bit big-endian counter; it is never sent, only implied. */
export function frameNonce(direction: number, counter: bigint): Uint8Array {
  const nonce = new Uint8Array(nacl.secretbox.nonceLength);
  nonce[0] = direction;
  new DataView(nonce.buffer).setBigUint64(16, counter);
  return nonce;
}

/** Seals outgoing frames under one key with a strictly increasing counter. */
export class FrameSealer {
  private counter = 0n;

  constructor(
    private readonly key: Uint8Array,
    private readonly direction: number,
    private readonly maxPlaintext: number,
  ) {}

  seal(plaintext: Uint8Array): Uint8Array {
    if (plaintext.length > this.maxPlaintext) {
      throw new PgduplexError(
        'FRAME_TOO_LARGE',
        `frame of ${plaintext.length} bytes exceeds ${this.maxPlaintext}; stream it in parts`,
      );
    }
    const box = nacl.secretbox(plaintext, frameNonce(this.direction, this.counter), this.key);
    this.counter += 1n;
    return box;
  }
}

/**
 * Opens incoming frames only in order: the counter the next frame must carry is implied, so a
 * replayed, reordered, skipped, reflected, truncated or modified frame fails authentication.
 */
export class FrameOpener {
  private counter = 0n;

  constructor(
    private readonly key: Uint8Array,
    private readonly direction: number,
    private readonly maxPlaintext: number,
  ) {}

  open(box: Uint8Array): Uint8Array {
    if (box.length > this.maxPlaintext + nacl.secretbox.overheadLength) {
      throw new PgduplexError('FRAME_TOO_LARGE', `frame of ${box.length} bytes exceeds the limit`);
    }
    const plain =
      box.length < nacl.secretbox.overheadLength
        ? null
        : nacl.secretbox.open(box, frameNonce(this.direction, this.counter), this.key);
    if (plain === null) throw new PgduplexError('FRAME_INVALID', 'frame failed authentication');
    this.counter += 1n;
    return plain;
  }
}
