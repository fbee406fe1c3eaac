/**
 * A whole RELOAD message: ForwardingHeader || MessageContents || SecurityBlock
 * (RFC 6940 §6.3). The header's `length` covers all three parts.
 */
import { type Codec, DecodeError, EncodeError, Reader, Writer, opaqueSize, vectorOf } from './codec.js';
import { FRAGMENT_LAST_BIT, FRAGMENT_OFFSET_MASK } from './constants.js';
import { type ForwardingHeader, forwardingHeader } from './forwarding-header.js';
import { type SecurityBlock, securityBlock, signerIdentity } from './security-block.js';
import { allocateBytes, allocateKeptBytes } from './slab.js';

export interface MessageExtension {
  /** MessageExtensionType, 16 bits. */
  type: number;
  critical: boolean;
  contents: Uint8Array;
}

export interface MessageContents {
  code: number;
  /** The method's body, encoded; see body.ts for the typed bodies. */
  body: Uint8Array;
  extensions: MessageExtension[];
}

export interface Message {
  header: ForwardingHeader;
  contents: MessageContents;
  security: SecurityBlock;
}

/** A decoded message plus the exact bytes its signature covers. */
export interface DecodedMessage extends Message {
  /** The encoded MessageContents, as received (part of the signature input). */
  contentsBytes: Uint8Array;
  /** The encoded SignerIdentity of the message signature, as received. */
  signerIdentityBytes: Uint8Array;
}

const SE = 'MessageExtension';
export const messageExtension: Codec<MessageExtension> = {
  name: SE,
  size: (e) => 3 + opaqueSize(4, e.contents, SE, 'extension_contents'),
  encode(w, e) {
    w.u16(e.type);
    w.bool(e.critical);
    w.opaque(4, e.contents);
  },
  decode(r) {
    const at = r.pos;
    const type = r.u16(SE, 'type');
    if (type === 0) throw new DecodeError(SE, 'type', 'value', at, 'invalidMessageExtensionType (0)');
    const critical = r.bool(SE, 'critical');
    return { type, critical, contents: r.opaque(4, SE, 'extension_contents') };
  },
};

const extensionList = vectorOf('MessageContents.extensions', 4, messageExtension);

const SM = 'MessageContents';
export const messageContents: Codec<MessageContents> = {
  name: SM,
  size: (c) => 2 + opaqueSize(4, c.body, SM, 'message_body') + extensionList.size(c.extensions),
  encode(w, c) {
    w.u16(c.code);
    w.opaque(4, c.body);
    extensionList.encode(w, c.extensions);
  },
  decode(r) {
    const at = r.pos;
    const code = r.u16(SM, 'message_code');
    if (code === 0) throw new DecodeError(SM, 'message_code', 'value', at, 'invalid message code 0');
    const body = r.opaque(4, SM, 'message_body');
    return { code, body, extensions: extensionList.decode(r) };
  },
};

/** Whether the fragment field describes a whole message (offset 0, last-fragment set). */
export function isWholeMessage(fragment: number): boolean {
  return (fragment & FRAGMENT_OFFSET_MASK) === 0 && (fragment & FRAGMENT_LAST_BIT) !== 0;
}

/**
 * Assembles a message from an already-encoded MessageContents and SecurityBlock (the
 * signing path encodes the contents once, signs them, then calls this). Sets
 * `header.length`. `kept`: a message kept long (an answer in the duplicate cache),
 * carved from the slabs of equally long-lived buffers rather than the transient ones.
 */
export function assembleMessage(header: ForwardingHeader, contents: Uint8Array, security: Uint8Array | SecurityBlock, kept = false): Uint8Array {
  const headerSize = forwardingHeader.size(header);
  const securitySize = security instanceof Uint8Array ? security.length : securityBlock.size(security);
  const total = headerSize + contents.length + securitySize;
  if (total > 0xffffffff) throw new EncodeError('Message', 'length', 'message exceeds 2^32-1 bytes');
  header.length = total;
  const w = new Writer(kept ? allocateKeptBytes(total) : allocateBytes(total));
  forwardingHeader.encode(w, header);
  w.bytes(contents);
  // A SecurityBlock is encoded in place (one buffer for the whole message).
  if (security instanceof Uint8Array) w.bytes(security);
  else securityBlock.encode(w, security);
  if (w.pos !== total) throw new EncodeError('Message', '(size)', `wrote ${w.pos}, expected ${total}`);
  return w.buf;
}

/** Encodes a whole message, setting `header.length`. */
export function encodeMessage(m: Message): Uint8Array {
  const headerSize = forwardingHeader.size(m.header);
  const total = headerSize + messageContents.size(m.contents) + securityBlock.size(m.security);
  m.header.length = total;
  const w = new Writer(allocateBytes(total));
  forwardingHeader.encode(w, m.header);
  messageContents.encode(w, m.contents);
  securityBlock.encode(w, m.security);
  if (w.pos !== total) throw new EncodeError('Message', '(size)', `wrote ${w.pos}, expected ${total}`);
  return w.buf;
}

/** Decodes only the forwarding header (the forwarding fast path). */
export function decodeForwardingHeader(bytes: Uint8Array): ForwardingHeader {
  const r = new Reader(bytes);
  const h = forwardingHeader.decode(r);
  if (h.length !== bytes.length) {
    throw new DecodeError('ForwardingHeader', 'length', 'length', 16, `says ${h.length} bytes, message has ${bytes.length}`);
  }
  return h;
}

/**
 * Decodes a complete (unfragmented or reassembled) message. A fragment must be
 * reassembled first (fragment.ts); decoding one here is an error.
 */
export function decodeMessage(bytes: Uint8Array): DecodedMessage {
  const r = new Reader(bytes);
  const header = forwardingHeader.decode(r);
  if (header.length !== bytes.length) {
    throw new DecodeError('ForwardingHeader', 'length', 'length', 16, `says ${header.length} bytes, message has ${bytes.length}`);
  }
  return decodeAfterHeader(header, bytes, r);
}

/**
 * The same for a message held in two pieces: `head` exactly its ForwardingHeader, `rest` the
 * MessageContents and SecurityBlock (a forwarded message's gather list, src/routing/
 * message-bytes.ts), decoded without joining them. Error offsets past the header count from
 * the start of `rest`.
 */
export function decodeMessageParts(head: Uint8Array, rest: Uint8Array): DecodedMessage {
  const r = new Reader(head);
  const header = forwardingHeader.decode(r);
  r.done('ForwardingHeader');
  if (header.length !== head.length + rest.length) {
    throw new DecodeError('ForwardingHeader', 'length', 'length', 16, `says ${header.length} bytes, message has ${head.length + rest.length}`);
  }
  return decodeAfterHeader(header, rest, new Reader(rest));
}

/** MessageContents and SecurityBlock from `r` (positioned in `bytes` right after the header). */
function decodeAfterHeader(header: ForwardingHeader, bytes: Uint8Array, r: Reader): DecodedMessage {
  if (!isWholeMessage(header.fragment)) {
    throw new DecodeError('ForwardingHeader', 'fragment', 'value', 12, 'message is a fragment; reassemble first');
  }
  const contentsStart = r.pos;
  const contents = messageContents.decode(r);
  const contentsBytes = bytes.subarray(contentsStart, r.pos);
  const security = securityBlock.decode(r);
  r.done('Message');
  // The Signature is the last thing in the message: identity || signature_value<0..2^16-1>.
  // The identity encoding is canonical, so its decoded size locates the received bytes.
  const identityEnd = bytes.length - 2 - security.signature.value.length;
  const identityStart = identityEnd - signerIdentity.size(security.signature.identity);
  const signerIdentityBytes = bytes.subarray(identityStart, identityEnd);
  return { header, contents, security, contentsBytes, signerIdentityBytes };
}

/**
 * The bytes a message signature covers (RFC 6940 §6.3.4):
 * overlay (4) || transaction_id (8) || MessageContents || SignerIdentity.
 */
export function messageSignatureInput(
  overlay: number,
  transactionId: bigint,
  contents: Uint8Array,
  identity: Uint8Array,
  /** Where to write it when large enough (a reused buffer); the result is then a view of it. */
  out?: Uint8Array,
): Uint8Array {
  const n = 12 + contents.length + identity.length;
  const w = new Writer(out && out.length >= n ? out : new Uint8Array(n));
  w.u32(overlay);
  w.u64(transactionId);
  w.bytes(contents);
  w.bytes(identity);
  return w.buf.length === n ? w.buf : w.buf.subarray(0, n);
}
