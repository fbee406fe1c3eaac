/**
 * RELOAD fragmentation and reassembly (RFC 6940 §6.7). Each fragment is a full copy of the
 * forwarding header plus a chunk of what follows it; `fragment` carries the chunk's offset
 * and the last-fragment flag. Only the final destination reassembles.
 */
import { DecodeError, Reader, Writer } from './codec.js';
import {
  FRAGMENT_HISTORICAL_BIT,
  FRAGMENT_LAST_BIT,
  FRAGMENT_OFFSET_MASK,
} from './constants.js';
import { type ForwardingHeader, forwardingHeader } from './forwarding-header.js';

/** A fragment must carry at least this many payload bytes (RFC 6940 §6.7). */
export const MIN_FRAGMENT_PAYLOAD = 256;
/** Room left for the via list to grow when fragmenting to a PMTU (RFC 6940 §6.7). */
export const FRAGMENT_VIA_HEADROOM = 32;
/** Incomplete reassemblies are dropped after the maximum request lifetime. */
export const REASSEMBLY_TIMEOUT_MS = 15_000;

/**
 * Splits an encoded message into fragments no larger than `pmtu - 32` bytes each, in equal
 * sizes. Returns the message unchanged when it fits, or when a fragment could not carry
 * 256 payload bytes (then IP fragmentation is left to do the job).
 */
export function fragmentMessage(message: Uint8Array, pmtu: number): Uint8Array[] {
  const r = new Reader(message);
  const header = forwardingHeader.decode(r);
  const headerSize = r.pos;
  const limit = pmtu - FRAGMENT_VIA_HEADROOM;
  if (message.length <= limit) return [message];
  const room = limit - headerSize;
  if (room < MIN_FRAGMENT_PAYLOAD) return [message];
  const baseOffset = header.fragment & FRAGMENT_OFFSET_MASK;
  const wasLast = (header.fragment & FRAGMENT_LAST_BIT) !== 0;
  const payload = message.subarray(headerSize);
  const count = Math.ceil(payload.length / room);
  const chunk = Math.ceil(payload.length / count);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = i * chunk;
    const part = payload.subarray(start, Math.min(payload.length, start + chunk));
    const last = i === count - 1 && wasLast;
    const h: ForwardingHeader = {
      ...header,
      fragment: (FRAGMENT_HISTORICAL_BIT | (last ? FRAGMENT_LAST_BIT : 0) | ((baseOffset + start) & FRAGMENT_OFFSET_MASK)) >>> 0,
      length: headerSize + part.length,
    };
    const w = new Writer(new Uint8Array(headerSize + part.length));
    forwardingHeader.encode(w, h);
    w.bytes(part);
    out.push(w.buf);
  }
  return out;
}

interface Pending {
  header: ForwardingHeader;
  parts: Map<number, Uint8Array>;
  total: number | undefined;
  bytes: number;
  started: number;
}

/**
 * Reassembles fragments at the destination. Keyed by transaction id (plus a sender key
 * the caller supplies). Gives up on a set after REASSEMBLY_TIMEOUT_MS and refuses to hold
 * more than `maxBytes` in total (RFC 6940 §6.7: drop on buffer exhaustion). `now` is
 * passed in: this module has no clock.
 */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  private held = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {}

  /** Bytes currently held in incomplete reassemblies. */
  get bufferedBytes(): number {
    return this.held;
  }

  /**
   * Accepts a message or fragment. Returns the whole message once complete (an
   * unfragmented message is returned at once), otherwise undefined.
   */
  add(bytes: Uint8Array, now: number, senderKey = ''): Uint8Array | undefined {
    const r = new Reader(bytes);
    const header = forwardingHeader.decode(r);
    const offset = header.fragment & FRAGMENT_OFFSET_MASK;
    const last = (header.fragment & FRAGMENT_LAST_BIT) !== 0;
    if (offset === 0 && last) return bytes;
    this.expire(now);
    const key = `${senderKey}/${header.transactionId}`;
    const chunk = bytes.subarray(r.pos);
    let p = this.pending.get(key);
    if (!p) {
      p = { header, parts: new Map(), total: undefined, bytes: 0, started: now };
      this.pending.set(key, p);
    }
    if (offset + chunk.length > this.maxMessageBytes) {
      this.drop(key);
      throw new DecodeError('Fragment', 'offset', 'length', 12, `reassembled message would exceed ${this.maxMessageBytes} bytes`);
    }
    if (this.held + chunk.length > this.maxBytes) {
      this.drop(key);
      throw new DecodeError('Fragment', 'payload', 'length', 0, 'reassembly buffer exhausted');
    }
    if (!p.parts.has(offset)) {
      p.parts.set(offset, chunk.slice());
      p.bytes += chunk.length;
      this.held += chunk.length;
    }
    if (last) p.total = offset + chunk.length;
    if (p.total === undefined || p.bytes < p.total) return undefined;
    // Every byte of [0, total) must be covered, in order, without overlap.
    const sorted = [...p.parts.entries()].sort((a, b) => a[0] - b[0]);
    let expect = 0;
    for (const [o, c] of sorted) {
      if (o !== expect) {
        if (o > expect) return undefined; // a gap: wait for more
        this.drop(key);
        throw new DecodeError('Fragment', 'offset', 'value', 12, `overlapping fragment at offset ${o}`);
      }
      expect = o + c.length;
    }
    if (expect !== p.total) return undefined;
    this.drop(key);
    const h: ForwardingHeader = { ...header, fragment: (FRAGMENT_HISTORICAL_BIT | FRAGMENT_LAST_BIT) >>> 0 };
    const hs = forwardingHeader.size(h);
    h.length = hs + p.total;
    const w = new Writer(new Uint8Array(h.length));
    forwardingHeader.encode(w, h);
    for (const [, c] of sorted) w.bytes(c);
    return w.buf;
  }

  /** Drops reassemblies older than the timeout. */
  expire(now: number): void {
    for (const [k, p] of this.pending) {
      if (now - p.started > REASSEMBLY_TIMEOUT_MS) this.drop(k);
    }
  }

  private drop(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.held -= p.bytes;
    this.pending.delete(key);
  }
}
