/**
 * The forwarding fast path (RFC 6940 §6.1.2, behaviour digest §2.1): an intermediate peer
 * rewrites only the forwarding header of a message it passes on, working on the bytes:
 *
 *   - request: append the previous hop to the Via List (symmetric recursive routing);
 *   - response: remove this node's own entry from the front of the Destination List;
 *   - both: decrement the TTL, then patch `via_list_length`, `destination_list_length` and
 *     `length`; everything after the header (contents, security block) is copied unchanged.
 *
 * One output allocation per message (none with `rewriteInto`), no object decoding, no body
 * parsing, no signature check (intermediate peers never verify, §6.3.4). The output of
 * `rewriteForNextHop` is carved from a shared slab (src/wire/slab.ts): it is an ordinary
 * Uint8Array, but its `.buffer` is shared with other messages, so callers must not write
 * outside it (the same contract as Node's pooled Buffers).
 */
import { ReloadError } from '../common/errors.js';
import { DecodeError, EncodeError, Writer } from './codec.js';
import { ErrorCode, FORWARDING_HEADER_FIXED_SIZE, RELO_TOKEN } from './constants.js';
import { type Destination, destination } from './destination.js';
import { allocateBytes } from './slab.js';

const S = 'ForwardingHeader';

/** Offsets in the fixed header (rfc6940-wire.md §2.1). */
const TTL_AT = 11;
const LENGTH_AT = 16;
const VIA_LENGTH_AT = 32;
const DEST_LENGTH_AT = 34;
const OPTIONS_LENGTH_AT = 36;

/** The encoded form of a Via List entry, computed once per link (the previous hop). */
export function encodeViaEntry(d: Destination): Uint8Array {
  if (d.type === 'resource') {
    // §6.3.2.2: a Resource-ID never appears in a Via List.
    throw new EncodeError(S, 'via_list', 'a resource destination cannot be a Via List entry');
  }
  const w = new Writer(new Uint8Array(destination.size(d)));
  destination.encode(w, d);
  return w.buf;
}

/** Size of the Destination starting at `at` (long form: type, length, data; short: 2). */
function destinationSize(m: Uint8Array, at: number, end: number): number {
  if (at >= end) throw new DecodeError(S, 'destination_list', 'truncated', at, 'no Destination to remove');
  if (m[at]! & 0x80) return 2;
  if (at + 2 > end) throw new DecodeError('Destination', 'length', 'truncated', at + 1, 'needs 1 byte(s), 0 left');
  const n = 2 + m[at + 1]!;
  if (at + n > end) throw new DecodeError('Destination', 'destination_data', 'length', at + 2, `length ${n - 2} exceeds the destination list`);
  return n;
}

export interface ForwardRewrite {
  /** Encoded Destination to append to the Via List (requests; see encodeViaEntry). */
  appendVia?: Uint8Array;
  /** Remove the first Destination List entry (this node's own, on responses). */
  removeFirstDestination?: boolean;
}

interface Plan {
  ttl: number;
  viaEnd: number;
  destLen: number;
  newViaLen: number;
  removed: number;
  outLength: number;
}

/** Checks what the rewrite relies on and computes the new lengths (no allocation). */
function plan(m: Uint8Array, rewrite: ForwardRewrite): Plan {
  const total = m.length;
  if (total < FORWARDING_HEADER_FIXED_SIZE) {
    throw new DecodeError(S, 'options_length', 'truncated', total, `message of ${total} bytes is shorter than the fixed header`);
  }
  const token = ((m[0]! << 24) | (m[1]! << 16) | (m[2]! << 8) | m[3]!) >>> 0;
  if (token !== RELO_TOKEN) {
    throw new DecodeError(S, 'relo_token', 'value', 0, `expected 0xd2454c4f, got 0x${token.toString(16)}`);
  }
  const length = ((m[LENGTH_AT]! << 24) | (m[LENGTH_AT + 1]! << 16) | (m[LENGTH_AT + 2]! << 8) | m[LENGTH_AT + 3]!) >>> 0;
  if (length !== total) throw new DecodeError(S, 'length', 'length', LENGTH_AT, `says ${length} bytes, message has ${total}`);
  const viaLen = (m[VIA_LENGTH_AT]! << 8) | m[VIA_LENGTH_AT + 1]!;
  const destLen = (m[DEST_LENGTH_AT]! << 8) | m[DEST_LENGTH_AT + 1]!;
  const optLen = (m[OPTIONS_LENGTH_AT]! << 8) | m[OPTIONS_LENGTH_AT + 1]!;
  const headerEnd = FORWARDING_HEADER_FIXED_SIZE + viaLen + destLen + optLen;
  if (headerEnd > total) {
    throw new DecodeError(S, 'length', 'length', LENGTH_AT, `message length ${total} is shorter than its header (${headerEnd})`);
  }
  const ttl = m[TTL_AT]!;
  if (ttl === 0) throw new ReloadError(ErrorCode.ttlExceeded, 'TTL is 0: the message cannot be forwarded');
  const added = rewrite.appendVia ? rewrite.appendVia.length : 0;
  const viaEnd = FORWARDING_HEADER_FIXED_SIZE + viaLen;
  const removed = rewrite.removeFirstDestination ? destinationSize(m, viaEnd, viaEnd + destLen) : 0;
  const newViaLen = viaLen + added;
  if (newViaLen > 0xffff) throw new EncodeError(S, 'via_list_length', `${newViaLen} bytes exceed 65535`);
  const outLength = total + added - removed;
  if (outLength > 0xffffffff) throw new EncodeError(S, 'length', 'message exceeds 2^32-1 bytes');
  return { ttl, viaEnd, destLen, newViaLen, removed, outLength };
}

function write(m: Uint8Array, rewrite: ForwardRewrite, p: Plan, out: Uint8Array, at: number): void {
  // Fixed header and Via List, then the new Via entry, then the rest minus the removed entry.
  out.set(m.subarray(0, p.viaEnd), at);
  let o = at + p.viaEnd;
  const via = rewrite.appendVia;
  if (via) {
    out.set(via, o);
    o += via.length;
  }
  out.set(m.subarray(p.viaEnd + p.removed), o);
  const n = p.outLength;
  out[at + TTL_AT] = p.ttl - 1;
  out[at + LENGTH_AT] = n >>> 24;
  out[at + LENGTH_AT + 1] = n >>> 16;
  out[at + LENGTH_AT + 2] = n >>> 8;
  out[at + LENGTH_AT + 3] = n;
  out[at + VIA_LENGTH_AT] = p.newViaLen >>> 8;
  out[at + VIA_LENGTH_AT + 1] = p.newViaLen;
  if (p.removed) {
    const newDestLen = p.destLen - p.removed;
    out[at + DEST_LENGTH_AT] = newDestLen >>> 8;
    out[at + DEST_LENGTH_AT + 1] = newDestLen;
  }
}

/**
 * Rewrites a whole message (or fragment) for the next hop: TTL − 1, plus `appendVia` and
 * `removeFirstDestination`. Checks what it relies on — relo_token, the `length` field against
 * the bytes, the three list lengths against the message — and throws a DecodeError when they
 * do not hold; a TTL of 0 throws ReloadError(Error_TTL_Exceeded): the message must not be
 * forwarded (behaviour digest §2.1). Returns a new message (one allocation).
 */
export function rewriteForNextHop(message: Uint8Array, rewrite: ForwardRewrite): Uint8Array {
  const p = plan(message, rewrite);
  const out = allocateBytes(p.outLength);
  write(message, rewrite, p, out, 0);
  return out;
}

/** The length of the message `rewriteForNextHop` would produce (same checks, no allocation). */
export function rewrittenLength(message: Uint8Array, rewrite: ForwardRewrite): number {
  return plan(message, rewrite).outLength;
}

/**
 * As rewriteForNextHop, but into `out` at `offset` (e.g. after a FramedMessage header in a
 * send buffer the link layer manages); returns the bytes written. `out` must not overlap
 * `message`. A RangeError if the rewritten message does not fit.
 */
export function rewriteInto(message: Uint8Array, rewrite: ForwardRewrite, out: Uint8Array, offset = 0): number {
  const p = plan(message, rewrite);
  if (offset < 0 || offset + p.outLength > out.length) {
    throw new RangeError(`${p.outLength} bytes do not fit at offset ${offset} of a ${out.length}-byte buffer`);
  }
  write(message, rewrite, p, out, offset);
  return p.outLength;
}

/** A request passing through: append the previous hop to the Via List, TTL − 1. */
export function forwardRequest(message: Uint8Array, previousHop: Uint8Array): Uint8Array {
  return rewriteForNextHop(message, { appendVia: previousHop });
}

/** A response passing through: drop this node's Destination List entry, TTL − 1. */
export function forwardResponse(message: Uint8Array): Uint8Array {
  return rewriteForNextHop(message, { removeFirstDestination: true });
}
