/**
 * RELOAD fragmentation and reassembly (RFC 6940 §6.7). Each fragment is a full copy of the
 * forwarding header plus a chunk of what follows it; `fragment` carries the chunk's offset
 * and the last-fragment flag. Only the final destination reassembles.
 */
import { DecodeError, EncodeError, Reader, Writer, bytesEqual } from './codec.js';
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
 * Splits an encoded message (or fragment) into fragments no larger than `pmtu - 32` bytes
 * each, of equal sizes (they differ by at most one byte). Returns the message unchanged
 * when it fits, or when it cannot be split into fragments that each carry at least 256
 * payload bytes (then IP fragmentation is left to do the job) (RFC 6940 §6.7).
 */
export function fragmentMessage(message: Uint8Array, pmtu: number): Uint8Array[] {
  const r = new Reader(message);
  const header = forwardingHeader.decode(r);
  if (header.length !== message.length) {
    throw new DecodeError('ForwardingHeader', 'length', 'length', 16, `says ${header.length} bytes, message has ${message.length}`);
  }
  const headerSize = r.pos;
  const limit = pmtu - FRAGMENT_VIA_HEADROOM;
  if (message.length <= limit) return [message];
  const room = limit - headerSize;
  if (room < MIN_FRAGMENT_PAYLOAD) return [message];
  const payload = message.subarray(headerSize);
  const count = Math.ceil(payload.length / room);
  const base = Math.floor(payload.length / count);
  if (base < MIN_FRAGMENT_PAYLOAD) return [message];
  // The first `extra` fragments carry one byte more; ceil(payload / count) <= room.
  const extra = payload.length % count;
  const baseOffset = header.fragment & FRAGMENT_OFFSET_MASK;
  if (baseOffset + payload.length - base > FRAGMENT_OFFSET_MASK) {
    throw new EncodeError('ForwardingHeader', 'fragment', 'fragment offsets exceed 24 bits');
  }
  const wasLast = (header.fragment & FRAGMENT_LAST_BIT) !== 0;
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = base + (i < extra ? 1 : 0);
    const part = payload.subarray(start, start + size);
    const last = i === count - 1 && wasLast;
    const h: ForwardingHeader = {
      ...header,
      fragment: (FRAGMENT_HISTORICAL_BIT | (last ? FRAGMENT_LAST_BIT : 0) | (baseOffset + start)) >>> 0,
      length: headerSize + size,
    };
    const w = new Writer(new Uint8Array(headerSize + size));
    forwardingHeader.encode(w, h);
    w.bytes(part);
    out.push(w.buf);
    start += size;
  }
  return out;
}

interface Pending {
  /** Decoded from a private copy of the first fragment's header (no view of caller bytes). */
  header: ForwardingHeader;
  headerSize: number;
  parts: Map<number, Uint8Array>;
  /** Payload size, known once the last fragment arrived. */
  total: number | undefined;
  /** Payload bytes held (parts never overlap). */
  bytes: number;
  started: number;
}

const SF = 'Fragment';

/**
 * Reassembles fragments at the destination (RFC 6940 §6.7). Keyed by transaction id (plus a
 * sender key the caller supplies). Gives up on a set after REASSEMBLY_TIMEOUT_MS and refuses
 * to hold more than `maxBytes` in total, headers included (drop on buffer exhaustion). A
 * reassembled message (header included) may not exceed `maxMessageBytes`. Exact duplicates
 * (retransmissions) are ignored; overlapping or inconsistent fragments drop the whole set
 * with a DecodeError. `now` is passed in: this module has no clock.
 */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  private held = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {}

  /** Bytes currently held in incomplete reassemblies (headers and payloads). */
  get bufferedBytes(): number {
    return this.held;
  }

  /** Number of incomplete reassemblies. */
  get pendingMessages(): number {
    return this.pending.size;
  }

  /**
   * Accepts a message or fragment. Returns the whole message once complete (an
   * unfragmented message is returned at once), otherwise undefined.
   */
  add(bytes: Uint8Array, now: number, senderKey = ''): Uint8Array | undefined {
    const r = new Reader(bytes);
    const header = forwardingHeader.decode(r);
    if (header.length !== bytes.length) {
      throw new DecodeError('ForwardingHeader', 'length', 'length', 16, `says ${header.length} bytes, fragment has ${bytes.length}`);
    }
    const offset = header.fragment & FRAGMENT_OFFSET_MASK;
    const last = (header.fragment & FRAGMENT_LAST_BIT) !== 0;
    if (offset === 0 && last) return bytes;
    this.expire(now);
    const chunk = bytes.subarray(r.pos);
    if (chunk.length === 0) throw new DecodeError(SF, 'payload', 'length', r.pos, 'a fragment carries no payload');
    const key = `${senderKey}/${header.transactionId}`;
    const end = offset + chunk.length;
    let p = this.pending.get(key);
    if ((p ? p.headerSize : r.pos) + end > this.maxMessageBytes) {
      this.drop(key);
      throw new DecodeError(SF, 'offset', 'length', 12, `reassembled message would exceed ${this.maxMessageBytes} bytes`);
    }
    if (!p) {
      if (this.held + r.pos + chunk.length > this.maxBytes) {
        throw new DecodeError(SF, 'payload', 'length', 0, 'reassembly buffer exhausted');
      }
      const headerCopy = bytes.slice(0, r.pos);
      p = {
        header: forwardingHeader.decode(new Reader(headerCopy)),
        headerSize: headerCopy.length,
        parts: new Map(),
        total: undefined,
        bytes: 0,
        started: now,
      };
      this.pending.set(key, p);
      this.held += p.headerSize;
    }
    if (last) {
      if (p.total !== undefined && p.total !== end) {
        this.drop(key);
        throw new DecodeError(SF, 'fragment', 'value', 12, `two last fragments end at ${p.total} and ${end}`);
      }
    } else if (p.total !== undefined && end > p.total) {
      this.drop(key);
      throw new DecodeError(SF, 'offset', 'value', 12, `fragment ends at ${end}, after the last fragment (${p.total})`);
    }
    for (const [o, c] of p.parts) {
      if (o < end && offset < o + c.length) {
        // A retransmitted copy of a fragment already held is harmless.
        if (o === offset && bytesEqual(c, chunk)) return undefined;
        this.drop(key);
        throw new DecodeError(SF, 'offset', 'value', 12, `fragment [${offset}, ${end}) overlaps [${o}, ${o + c.length})`);
      }
      if (last && o + c.length > end) {
        this.drop(key);
        throw new DecodeError(SF, 'fragment', 'value', 12, `a fragment ends at ${o + c.length}, after the last fragment (${end})`);
      }
    }
    if (this.held + chunk.length > this.maxBytes) {
      this.drop(key);
      throw new DecodeError(SF, 'payload', 'length', 0, 'reassembly buffer exhausted');
    }
    p.parts.set(offset, chunk.slice());
    p.bytes += chunk.length;
    this.held += chunk.length;
    if (last) p.total = end;
    // Parts are disjoint and inside [0, total): equal byte counts mean full coverage.
    if (p.total === undefined || p.bytes !== p.total) return undefined;
    this.drop(key);
    const sorted = [...p.parts.entries()].sort((a, b) => a[0] - b[0]);
    const h: ForwardingHeader = { ...p.header, fragment: (FRAGMENT_HISTORICAL_BIT | FRAGMENT_LAST_BIT) >>> 0 };
    h.length = p.headerSize + p.total;
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
    this.held -= p.headerSize + p.bytes;
    this.pending.delete(key);
  }
}
