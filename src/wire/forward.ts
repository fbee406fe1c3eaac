/**
 * The forwarding fast path (RFC 6940 §6.1.2, behaviour digest §2.1): an intermediate peer
 * rewrites only the forwarding header of a message it passes on, working on the bytes:
 *
 *   - request: append the previous hop to the Via List (symmetric recursive routing);
 *   - response: remove this node's own entry from the front of the Destination List;
 *   - both: decrement the TTL, then patch `via_list_length`, `destination_list_length` and
 *     `length`; everything after the header (contents, security block) is unchanged.
 *
 * `rewriteHeader` produces only the new ForwardingHeader: the router sends it followed by the
 * received message's unchanged rest as a gather list (Connection.send's `tail`), so a hop
 * copies the header (tens of bytes) instead of the whole message (a certificate-carrying
 * message is ~1.4 KB; copying it at every hop was most of the simulator's allocation).
 * `rewriteForNextHop` builds the whole rewritten message in one buffer.
 *
 * No object decoding, no body parsing, no signature check (intermediate peers never verify,
 * §6.3.4). Outputs are carved from a shared slab (src/wire/slab.ts): ordinary Uint8Arrays
 * whose `.buffer` is shared with other messages, so callers must not write outside them (the
 * same contract as Node's pooled Buffers).
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
  headerEnd: number;
  newViaLen: number;
  removed: number;
  outLength: number;
}

/**
 * Checks what the rewrite relies on and computes the new lengths (no allocation). `m` holds
 * at least the ForwardingHeader; `total` is the whole message's length (m.length when `m`
 * is the whole message, more when the rest travels as a separate piece).
 */
function plan(m: Uint8Array, rewrite: ForwardRewrite, total: number): Plan {
  if (m.length < FORWARDING_HEADER_FIXED_SIZE) {
    throw new DecodeError(S, 'options_length', 'truncated', m.length, `message of ${m.length} bytes is shorter than the fixed header`);
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
  if (headerEnd > m.length) {
    throw new DecodeError(S, 'options_length', 'truncated', m.length, `the header needs ${headerEnd} bytes, ${m.length} given`);
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
  return { ttl, viaEnd, destLen, headerEnd, newViaLen, removed, outLength };
}

/** Writes the rewritten message — or with `headerOnly` its ForwardingHeader — at `out[0]`. */
function write(m: Uint8Array, rewrite: ForwardRewrite, p: Plan, out: Uint8Array, headerOnly: boolean): void {
  // Fixed header and Via List, then the new Via entry, then the rest minus the removed entry.
  out.set(m.subarray(0, p.viaEnd), 0);
  let o = p.viaEnd;
  const via = rewrite.appendVia;
  if (via) {
    out.set(via, o);
    o += via.length;
  }
  out.set(m.subarray(p.viaEnd + p.removed, headerOnly ? p.headerEnd : m.length), o);
  const n = p.outLength;
  out[TTL_AT] = p.ttl - 1;
  out[LENGTH_AT] = n >>> 24;
  out[LENGTH_AT + 1] = n >>> 16;
  out[LENGTH_AT + 2] = n >>> 8;
  out[LENGTH_AT + 3] = n;
  out[VIA_LENGTH_AT] = p.newViaLen >>> 8;
  out[VIA_LENGTH_AT + 1] = p.newViaLen;
  if (p.removed) {
    const newDestLen = p.destLen - p.removed;
    out[DEST_LENGTH_AT] = newDestLen >>> 8;
    out[DEST_LENGTH_AT + 1] = newDestLen;
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
  const p = plan(message, rewrite, message.length);
  const out = allocateBytes(p.outLength);
  write(message, rewrite, p, out, false);
  return out;
}

/**
 * The same rewrite, returning only the new ForwardingHeader: the next hop gets it followed by
 * the unchanged rest of the message, `message.subarray(oldHeaderSize)` (or the separate piece
 * that already holds it). `head` holds at least the ForwardingHeader; `total` is the whole
 * message's length, which the `length` field must state. The same checks and errors as
 * rewriteForNextHop; the returned header's `length` field states the rewritten total.
 */
export function rewriteHeader(head: Uint8Array, total: number, rewrite: ForwardRewrite): Uint8Array {
  const p = plan(head, rewrite, total);
  const out = allocateBytes(p.outLength - (total - p.headerEnd));
  write(head, rewrite, p, out, true);
  return out;
}

/** A request passing through: append the previous hop to the Via List, TTL − 1. */
export function forwardRequest(message: Uint8Array, previousHop: Uint8Array): Uint8Array {
  return rewriteForNextHop(message, { appendVia: previousHop });
}

/** A response passing through: drop this node's Destination List entry, TTL − 1. */
export function forwardResponse(message: Uint8Array): Uint8Array {
  return rewriteForNextHop(message, { removeFirstDestination: true });
}
