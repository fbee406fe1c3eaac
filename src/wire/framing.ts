/**
 * The per-hop FramedMessage (RFC 6940 §6.6.2, §6.6.3): data frames
 * `80 | sequence(4) | length(3) | message` and ack frames `81 | ack_sequence(4) | received(4)`.
 * The same framing runs over UDP (simple reliability) and over TLS/TCP (framed header).
 */
import { type Codec, DecodeError, EncodeError, Reader, Writer, decode, encode } from './codec.js';
import { FramedMessageType } from './constants.js';

export type FramedMessage =
  | {
      type: 'data';
      sequence: number;
      message: Uint8Array;
      /**
       * Addition (encoding only): the message continues with these bytes — a gather list,
       * written as one message (see Connection.send). Decoding never sets it.
       */
      tail?: Uint8Array;
    }
  | { type: 'ack'; ackSequence: number; received: number };

const S = 'FramedMessage';
export const DATA_FRAME_OVERHEAD = 8;
export const ACK_FRAME_SIZE = 9;
export const MAX_FRAMED_MESSAGE = 0xffffff;

/** FramedMessage as a codec: `select (type)` over data(128) and ack(129) (RFC 6940 §6.6.2). */
export const framedMessage: Codec<FramedMessage> = {
  name: S,
  size(f) {
    if (f.type === 'ack') return ACK_FRAME_SIZE;
    const n = f.message.length + (f.tail ? f.tail.length : 0);
    if (n > MAX_FRAMED_MESSAGE) throw new EncodeError(S, 'message', `${n} bytes exceed the 3-byte length`);
    return DATA_FRAME_OVERHEAD + n;
  },
  encode(w: Writer, f) {
    if (f.type === 'ack') {
      w.u8(FramedMessageType.ack);
      w.u32(f.ackSequence >>> 0);
      w.u32(f.received >>> 0);
      return;
    }
    w.u8(FramedMessageType.data);
    w.u32(f.sequence >>> 0);
    if (f.tail) {
      w.length(3, f.message.length + f.tail.length);
      w.bytes(f.message);
      w.bytes(f.tail);
    } else {
      w.opaque(3, f.message);
    }
  },
  decode(r: Reader): FramedMessage {
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
  },
};

export function encodeFrame(f: FramedMessage): Uint8Array {
  return encode(framedMessage, f);
}

/** Decodes exactly one frame (a UDP datagram); the message is a view of `bytes`. */
export function decodeFrame(bytes: Uint8Array): FramedMessage {
  return decode(framedMessage, bytes);
}

/** A buffer this large or larger is released once it has been drained. */
const RELEASE_BUFFER_BYTES = 64 * 1024;

/**
 * Splits a byte stream (TLS/TCP) into frames. Push chunks as they arrive; complete frames
 * come out in order. A frame that lies wholly inside the chunk just pushed, with nothing
 * buffered before it (the usual case: a socket read ends on a frame boundary), comes out
 * as a view of that chunk with no copy, so the caller must not reuse a chunk it pushed (a
 * socket's 'data' chunks are fresh buffers). Only a frame split across chunks is
 * assembled in the parser's own buffer, and its message is copied out of it.
 *
 * A frame whose message is longer than `maxMessageSize` is refused as soon as its length
 * field is read (RFC 6940 §6.6.2: oversized messages close the link, possibly before they
 * arrive in full).
 *
 * A framing error is fatal for the stream (the frame boundaries are lost): `push` throws a
 * DecodeError whose offset counts from the start of the stream, frames completed earlier in
 * the same chunk are discarded with the connection, and every later `push` throws the same
 * error.
 */
export class FrameStreamParser {
  private store: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;
  /** Stream offset of store[0]. */
  private base = 0;
  private failure: DecodeError | undefined;

  constructor(private readonly maxMessageSize: number) {}

  /** Bytes buffered, waiting for the rest of a frame. */
  get pending(): number {
    return this.end - this.start;
  }

  /** The error that ended the stream, if any. */
  get error(): DecodeError | undefined {
    return this.failure;
  }

  push(chunk: Uint8Array): FramedMessage[] {
    if (this.failure) throw this.failure;
    const out: FramedMessage[] = [];
    if (this.start === this.end) {
      // Nothing buffered: frame the chunk in place; only an incomplete last frame is kept.
      const chunkBase = this.base + this.end;
      const used = this.scan(chunk, 0, chunk.length, chunkBase, out, false);
      this.restartAt(chunkBase + used);
      if (used < chunk.length) this.append(chunk.subarray(used));
      return out;
    }
    this.append(chunk);
    this.start = this.scan(this.store, this.start, this.end, this.base, out, true);
    if (this.start === this.end) this.restartAt(this.base + this.end);
    return out;
  }

  /** Empties the drained buffer (releasing a large one); the next byte is at stream offset `base`. */
  private restartAt(base: number): void {
    this.base = base;
    this.start = this.end = 0;
    if (this.store.length >= RELEASE_BUFFER_BYTES) this.store = new Uint8Array(0);
  }

  /**
   * Takes the complete frames in b[from, to) (stream offset of b[0]: `base`) into `out`,
   * copying data frames' messages when `copy`; returns where the first incomplete frame
   * starts (`to` if none).
   */
  private scan(b: Uint8Array, from: number, to: number, base: number, out: FramedMessage[], copy: boolean): number {
    let pos = from;
    for (;;) {
      const left = to - pos;
      if (left < 1) return pos;
      const type = b[pos]!;
      let size: number;
      if (type === FramedMessageType.ack) {
        size = ACK_FRAME_SIZE;
      } else if (type === FramedMessageType.data) {
        if (left < DATA_FRAME_OVERHEAD) return pos;
        const len = (b[pos + 5]! << 16) | (b[pos + 6]! << 8) | b[pos + 7]!;
        if (len > this.maxMessageSize) {
          this.fail(
            new DecodeError(S, 'message', 'length', base + pos + 5, `message of ${len} bytes exceeds max-message-size ${this.maxMessageSize}`),
          );
        }
        size = DATA_FRAME_OVERHEAD + len;
      } else {
        this.fail(new DecodeError(S, 'type', 'value', base + pos, `unknown FramedMessageType ${type}`));
      }
      if (left < size) return pos;
      // The codec gives the message as a view of `b`.
      const f = framedMessage.decode(new Reader(b, pos, pos + size));
      if (copy && f.type === 'data') f.message = f.message.slice();
      out.push(f);
      pos += size;
    }
  }

  private fail(e: DecodeError): never {
    this.failure = e;
    throw e;
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.store.length) {
      const live = this.end - this.start;
      const need = live + chunk.length;
      if (need <= this.store.length && this.start > 0) {
        this.store.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.max(need, this.store.length * 2, 256));
        grown.set(this.store.subarray(this.start, this.end), 0);
        this.store = grown;
      }
      this.base += this.start;
      this.start = 0;
      this.end = live;
    }
    this.store.set(chunk, this.end);
    this.end += chunk.length;
  }
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
