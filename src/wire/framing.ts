/**
 * The per-hop FramedMessage (RFC 6940 §6.6.2, §6.6.3): data frames
 * `80 | sequence(4) | length(3) | message` and ack frames `81 | ack_sequence(4) | received(4)`.
 * The same framing runs over UDP (simple reliability) and over TLS/TCP (framed header).
 */
import { DecodeError, EncodeError, Reader, Writer } from './codec.js';
import { FramedMessageType } from './constants.js';

export type FramedMessage =
  | { type: 'data'; sequence: number; message: Uint8Array }
  | { type: 'ack'; ackSequence: number; received: number };

const S = 'FramedMessage';
export const DATA_FRAME_OVERHEAD = 8;
export const ACK_FRAME_SIZE = 9;
export const MAX_FRAMED_MESSAGE = 0xffffff;

export function encodeFrame(f: FramedMessage): Uint8Array {
  if (f.type === 'ack') {
    const w = new Writer(new Uint8Array(ACK_FRAME_SIZE));
    w.u8(FramedMessageType.ack);
    w.u32(f.ackSequence >>> 0);
    w.u32(f.received >>> 0);
    return w.buf;
  }
  if (f.message.length > MAX_FRAMED_MESSAGE) {
    throw new EncodeError(S, 'message', `${f.message.length} bytes exceed the 3-byte length`);
  }
  const w = new Writer(new Uint8Array(DATA_FRAME_OVERHEAD + f.message.length));
  w.u8(FramedMessageType.data);
  w.u32(f.sequence >>> 0);
  w.opaque(3, f.message);
  return w.buf;
}

function decodeOne(r: Reader): FramedMessage {
  const at = r.pos;
  const type = r.u8(S, 'type');
  switch (type) {
    case FramedMessageType.data:
      return { type: 'data', sequence: r.u32(S, 'sequence'), message: r.opaque(3, S, 'message') };
    case FramedMessageType.ack:
      return { type: 'ack', ackSequence: r.u32(S, 'ack_sequence'), received: r.u32(S, 'received') };
    default:
      throw new DecodeError(S, 'type', 'value', at, `unknown FramedMessageType ${type}`);
  }
}

/** Decodes exactly one frame (a UDP datagram). */
export function decodeFrame(bytes: Uint8Array): FramedMessage {
  const r = new Reader(bytes);
  const f = decodeOne(r);
  r.done(S);
  return f;
}

/**
 * Splits a byte stream (TLS/TCP) into frames. Push chunks as they arrive; complete frames
 * come out in order. A frame whose message is longer than `maxMessageSize` is refused as
 * soon as its length field is read (RFC 6940 §6.6.2: oversized messages close the link,
 * possibly before they arrive in full).
 */
export class FrameStreamParser {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxMessageSize: number) {}

  /** Bytes buffered, waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): FramedMessage[] {
    this.buf = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    const out: FramedMessage[] = [];
    let pos = 0;
    for (;;) {
      const left = this.buf.length - pos;
      if (left < 1) break;
      const type = this.buf[pos]!;
      if (type === FramedMessageType.ack) {
        if (left < ACK_FRAME_SIZE) break;
        out.push(decodeOne(new Reader(this.buf, pos, pos + ACK_FRAME_SIZE)));
        pos += ACK_FRAME_SIZE;
        continue;
      }
      if (type !== FramedMessageType.data) {
        throw new DecodeError(S, 'type', 'value', pos, `unknown FramedMessageType ${type}`);
      }
      if (left < DATA_FRAME_OVERHEAD) break;
      const len = (this.buf[pos + 5]! << 16) | (this.buf[pos + 6]! << 8) | this.buf[pos + 7]!;
      if (len > this.maxMessageSize) {
        throw new DecodeError(S, 'message', 'length', pos + 5, `message of ${len} bytes exceeds max-message-size ${this.maxMessageSize}`);
      }
      if (left < DATA_FRAME_OVERHEAD + len) break;
      const end = pos + DATA_FRAME_OVERHEAD + len;
      // Copy the message out so later chunks can be released independently.
      const f = decodeOne(new Reader(this.buf, pos, end));
      if (f.type === 'data') f.message = f.message.slice();
      out.push(f);
      pos = end;
    }
    this.buf = pos === this.buf.length ? new Uint8Array(0) : this.buf.subarray(pos);
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * The `received` bitmap of an ack for data frame N (RFC 6940 §6.6.3.2).
 *
 * UNCONFIRMED bit order: the RFC says "the N-M bit"; Wireshark's dissector reads the least
 * significant bit as N-1. We follow Wireshark (bit k from the LSB ↔ sequence N-1-k), so
 * captures display the right sequence numbers; the bitmap is advisory only (the
 * acknowledgement proper is ack_sequence).
 */
export function receivedBitmap(n: number, received: (seq: number) => boolean): number {
  let bits = 0;
  for (let k = 0; k < 32; k++) {
    const m = n - 1 - k;
    if (m < 0) break;
    if (received(m)) bits |= 1 << k;
  }
  return bits >>> 0;
}

/** The sequence numbers an ack's bitmap reports, newest first. */
export function sequencesInBitmap(n: number, bits: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < 32; k++) {
    if ((bits >>> k) & 1 && n - 1 - k >= 0) out.push(n - 1 - k);
  }
  return out;
}
