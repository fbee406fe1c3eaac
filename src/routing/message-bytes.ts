/**
 * A message as the router holds it between receipt and delivery. `head` starts with the
 * ForwardingHeader (`headerSize` bytes) and is either the whole message or — when the memory
 * link hands over a gather list (Connection.send's `tail`) — exactly that header, with the
 * rest (MessageContents, SecurityBlock) in `tail`.
 *
 * Forwarding needs only the header: the rewritten header goes out followed by `rest()`
 * unchanged (RFC 6940 §6.1.2: an intermediate peer touches the forwarding header alone), so
 * no hop copies the body. Delivery decodes the pieces where they lie (`decode()`); reassembly
 * and captures take `whole()`, which joins them once.
 */
import { type DecodedMessage, decodeMessage, decodeMessageParts } from '../wire/message.js';
import { allocateBytes } from '../wire/slab.js';

export class MessageBytes {
  private joined: Uint8Array | undefined;

  constructor(
    readonly head: Uint8Array,
    readonly headerSize: number,
    /** The bytes after the header, when they are a piece of their own. */
    readonly tail?: Uint8Array,
  ) {
    if (tail !== undefined && head.length !== headerSize) {
      throw new RangeError(`a split message's head must be its ${headerSize}-byte header, got ${head.length} bytes`);
    }
  }

  /** The message's length in bytes. */
  get length(): number {
    return this.tail === undefined ? this.head.length : this.head.length + this.tail.length;
  }

  /** The bytes after the ForwardingHeader (a view, no copy). */
  rest(): Uint8Array {
    return this.tail ?? this.head.subarray(this.headerSize);
  }

  /** The whole message in one buffer (joined once, on first use, when it came in two pieces). */
  whole(): Uint8Array {
    if (this.tail === undefined) return this.head;
    this.joined ??= joinPieces(this.head, this.tail);
    return this.joined;
  }

  /** Decodes the whole (unfragmented) message, its pieces unjoined (see decodeMessageParts). */
  decode(): DecodedMessage {
    return this.tail === undefined ? decodeMessage(this.head) : decodeMessageParts(this.head, this.tail);
  }

  /** The first two bytes after the header — a message code, unless this is a later fragment — or undefined. */
  leadingCode(): number | undefined {
    const r = this.rest();
    return r.length < 2 ? undefined : (r[0]! << 8) | r[1]!;
  }
}

/** `a` followed by `b` in one new buffer (carved from a slab, src/wire/slab.ts). */
export function joinPieces(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = allocateBytes(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
