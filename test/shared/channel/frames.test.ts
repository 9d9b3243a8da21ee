import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { CLIENT_TO_SERVER, FrameOpener, FrameSealer, SERVER_TO_CLIENT } from '../../../shared/channel/frames.js';
import { PgduplexError } from '../../../shared/errors.js';

const key = new Uint8Array(32).fill(9);
const pair = () => ({
  seal: new FrameSealer(key, CLIENT_TO_SERVER, 1024),
  open: new FrameOpener(key, CLIENT_TO_SERVER, 1024),
});
const msg = (s: string) => new TextEncoder().encode(s);
const code = (fn: () => unknown) => {
  try {
    fn();
    return 'NO_ERROR';
  } catch (err) {
    return (err as PgduplexError).code;
  }
};

describe('frames', () => {
  it('open in order', () => {
    const { seal, open } = pair();
    for (const s of ['a', 'b', 'c']) expect(new TextDecoder().decode(open.open(seal.seal(msg(s))))).toBe(s);
  });

  it('reject a replayed frame', () => {
    const { seal, open } = pair();
    const f = seal.seal(msg('x'));
    open.open(f);
    expect(code(() => open.open(f))).toBe('FRAME_INVALID');
  });

  it('reject reordered and skipped frames', () => {
    const { seal, open } = pair();
    seal.seal(msg('first'));
    const second = seal.seal(msg('second'));
    expect(code(() => open.open(second))).toBe('FRAME_INVALID');
  });

  it('reject a frame reflected back in the other direction', () => {
    const s = new FrameSealer(key, CLIENT_TO_SERVER, 1024);
    const backwards = new FrameOpener(key, SERVER_TO_CLIENT, 1024);
    expect(code(() => backwards.open(s.seal(msg('x'))))).toBe('FRAME_INVALID');
  });

  it('reject a frame from another session (other key)', () => {
    const other = new FrameSealer(new Uint8Array(32).fill(10), CLIENT_TO_SERVER, 1024);
    expect(code(() => pair().open.open(other.seal(msg('x'))))).toBe('FRAME_INVALID');
  });

  it('reject truncated, extended and modified frames', () => {
    const { seal } = pair();
    const f = seal.seal(msg('hello'));
    expect(code(() => pair().open.open(f.subarray(0, f.length - 1)))).toBe('FRAME_INVALID');
    expect(code(() => pair().open.open(f.subarray(0, 3)))).toBe('FRAME_INVALID');
    const longer = new Uint8Array(f.length + 1);
    longer.set(f);
    expect(code(() => pair().open.open(longer))).toBe('FRAME_INVALID');
    for (let i = 0; i < f.length; i++) {
      const m = f.slice();
      m[i]! ^= 0x01;
      expect(code(() => pair().open.open(m))).toBe('FRAME_INVALID');
    }
  });

  it('refuse oversized frames on both ends', () => {
    expect(code(() => pair().seal.seal(new Uint8Array(1025)))).toBe('FRAME_TOO_LARGE');
    expect(code(() => pair().open.open(new Uint8Array(1024 + nacl.secretbox.overheadLength + 1)))).toBe(
      'FRAME_TOO_LARGE',
    );
  });
});
