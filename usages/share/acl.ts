/**
 * ShaRe wire structures (RFC 8076 §4.2, §5.2) and the per-writer array index scheme
 * (RFC 8076 §3.1).
 *
 *   enum { pattern(1), (255) } ResourceNameType;
 *
 *   struct {
 *     ResourceNameType type;
 *     uint16           length;          // bytes of what follows
 *     select (type) {
 *       case pattern: opaque resource_name<0..2^16-1>;
 *       // "Types can be extended": other types are carried opaquely by `length`.
 *     };
 *   } ResourceNameExtension;
 *
 *   struct {
 *     ResourceNameExtension res_name_ext;   // present iff the Kind enables variable names
 *     opaque                to_user<0..2^16-1>;
 *     KindId                kind;
 *     Boolean               allow_delegation;
 *   } AccessControlListItem;
 *
 * An AccessControlListItem is the DataValue.value of an ACCESS-CONTROL-LIST (Kind 0x4) array
 * entry. Whether `res_name_ext` is present is not on the wire: it is bound to the
 * `share:variable-resource-names enable="true"` element of the Kind's kind-block (RFC 8076
 * §4.2), so there are two codecs, {@link aclItemCodec}(false) and (true).
 *
 * Decision (RFC 8076 §4.2 says "the corresponding kind-block"): for ACL items the kind-block
 * that decides is the one of ACCESS-CONTROL-LIST itself — the only reading under which an
 * item can be decoded before its `kind` field is known.
 */
import {
  type Codec,
  DecodeError,
  EncodeError,
  Reader,
  type Writer,
  bytesEqual,
  decode,
  encode,
  fromUtf8,
  opaqueSize,
  utf8,
} from '../../src/wire/codec.js';
import { KindIds } from '../../src/wire/constants.js';

/** Kind-ID of ACCESS-CONTROL-LIST (RFC 8076 §9.2). */
export const ACCESS_CONTROL_LIST_KIND: number = KindIds.accessControlList;

/** ResourceNameType (RFC 8076 §5.2). */
export const ResourceNameType = { pattern: 1 } as const;

export type ResourceNameExtension =
  /** The Resource Name, to be checked against the Kind's variable-name patterns. */
  | { type: 'pattern'; resourceName: Uint8Array }
  /** A type this node does not know, kept so it re-encodes unchanged. */
  | { type: 'unknown'; code: number; data: Uint8Array };

const RNE = 'ResourceNameExtension';

function rneBodySize(e: ResourceNameExtension): number {
  switch (e.type) {
    case 'pattern':
      return opaqueSize(2, e.resourceName, RNE, 'resource_name');
    case 'unknown':
      return e.data.length;
  }
}

export const resourceNameExtension: Codec<ResourceNameExtension> = {
  name: RNE,
  size(e) {
    const n = rneBodySize(e);
    if (n > 0xffff) throw new EncodeError(RNE, 'length', `${n} bytes exceed 65535`);
    return 3 + n;
  },
  encode(w: Writer, e) {
    if (e.type === 'pattern') {
      w.u8(ResourceNameType.pattern);
      w.u16(2 + e.resourceName.length);
      w.opaque(2, e.resourceName);
      return;
    }
    if (!Number.isInteger(e.code) || e.code < 0 || e.code > 255 || e.code === ResourceNameType.pattern) {
      throw new EncodeError(RNE, 'type', `an unknown ResourceNameType must be 0..255 and not pattern(1), got ${e.code}`);
    }
    w.u8(e.code);
    w.u16(e.data.length);
    w.bytes(e.data);
  },
  decode(r: Reader) {
    const code = r.u8(RNE, 'type');
    const body = r.vector(2, RNE, 'length');
    if (code !== ResourceNameType.pattern) return { type: 'unknown', code, data: body.bytes(body.left, RNE, 'data') };
    const resourceName = body.opaque(2, RNE, 'resource_name');
    // The pattern case is exactly resource_name; anything more inside `length` is refused
    // (keeps the encoding canonical; a future extension would be a new type).
    body.done(RNE);
    return { type: 'pattern', resourceName };
  },
};

/** One ACL entry: "the signer grants `toUser` write access to Kind `kind`". */
export interface AccessControlListItem {
  /** Present iff the ACL Kind enables variable resource names. */
  resNameExt?: ResourceNameExtension | undefined;
  /** User name receiving write permission (compared as bytes, RFC 8076 §6.3). */
  toUser: Uint8Array;
  /** Kind-ID of the Shared Resource this item applies to. */
  kind: number;
  /** "ad": may `toUser` add further ACL items for this Kind? */
  allowDelegation: boolean;
}

const ACL = 'AccessControlListItem';

function makeAclCodec(withNameExt: boolean): Codec<AccessControlListItem> {
  return {
    name: ACL,
    size(v) {
      if (withNameExt !== (v.resNameExt !== undefined)) {
        throw new EncodeError(ACL, 'res_name_ext', withNameExt ? 'required: the Kind enables variable resource names' : 'must be absent: the Kind does not enable variable resource names');
      }
      if (!Number.isInteger(v.kind) || v.kind < 0 || v.kind > 0xffffffff) throw new EncodeError(ACL, 'kind', `not a uint32: ${v.kind}`);
      return (v.resNameExt ? resourceNameExtension.size(v.resNameExt) : 0) + opaqueSize(2, v.toUser, ACL, 'to_user') + 5;
    },
    encode(w, v) {
      if (v.resNameExt) resourceNameExtension.encode(w, v.resNameExt);
      w.opaque(2, v.toUser);
      w.u32(v.kind);
      w.bool(v.allowDelegation);
    },
    decode(r) {
      const resNameExt = withNameExt ? resourceNameExtension.decode(r) : undefined;
      const toUser = r.opaque(2, ACL, 'to_user');
      const kind = r.u32(ACL, 'kind');
      const allowDelegation = r.bool(ACL, 'allow_delegation');
      return resNameExt ? { resNameExt, toUser, kind, allowDelegation } : { toUser, kind, allowDelegation };
    },
  };
}

const plainAcl = makeAclCodec(false);
const namedAcl = makeAclCodec(true);

/** The AccessControlListItem codec, with or without the leading ResourceNameExtension. */
export function aclItemCodec(withNameExt: boolean): Codec<AccessControlListItem> {
  return withNameExt ? namedAcl : plainAcl;
}

export function encodeAclItem(item: AccessControlListItem, withNameExt: boolean): Uint8Array {
  return encode(aclItemCodec(withNameExt), item);
}

/** Decodes exactly one item (a DataValue.value); trailing bytes are a DecodeError. */
export function decodeAclItem(bytes: Uint8Array, withNameExt: boolean): AccessControlListItem {
  return decode(aclItemCodec(withNameExt), bytes);
}

/** Builds an item from text (user name and Resource Name are UTF-8). */
export function aclItem(toUser: string, kind: number, allowDelegation: boolean, resourceName?: string): AccessControlListItem {
  const item: AccessControlListItem = { toUser: utf8(toUser), kind, allowDelegation };
  if (resourceName !== undefined) item.resNameExt = { type: 'pattern', resourceName: utf8(resourceName) };
  return item;
}

// -----------------------------------------------------------------------------------------
// Shared Kind values that begin with a ResourceNameExtension (RFC 8076 §3: a shared Kind
// whose kind-block enables variable names "MUST begin with" the field).

/** Splits a shared value into its leading ResourceNameExtension and the rest (the Kind's own data). */
export function splitNamedValue(value: Uint8Array): { ext: ResourceNameExtension; payload: Uint8Array } {
  // The extension is self-delimiting through its length field.
  const reader = new Reader(value);
  const ext = resourceNameExtension.decode(reader);
  return { ext, payload: value.subarray(reader.pos) };
}

/** Prefixes a shared value with a pattern ResourceNameExtension naming `resourceName`. */
export function joinNamedValue(resourceName: Uint8Array | string, payload: Uint8Array): Uint8Array {
  const ext: ResourceNameExtension = { type: 'pattern', resourceName: typeof resourceName === 'string' ? utf8(resourceName) : resourceName };
  const head = encode(resourceNameExtension, ext);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** The Resource Name a pattern extension carries, or undefined (unknown type). */
export function resourceNameOf(ext: ResourceNameExtension | undefined): Uint8Array | undefined {
  return ext?.type === 'pattern' ? ext.resourceName : undefined;
}

/** The Resource Name as text, or undefined when it is not valid UTF-8. */
export function resourceNameText(name: Uint8Array): string | undefined {
  try {
    return fromUtf8(name, RNE, 'resource_name');
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}

// -----------------------------------------------------------------------------------------
// Array indexes (RFC 8076 §3.1): the low 24 bits of the signer's Node-ID, then an 8-bit
// index the writer chooses, so each writer owns 256 slots.

/** Number of slots each writer has in a shared array. */
export const SHARE_SLOTS_PER_WRITER = 256;

/** The low 24 bits of a Node-ID (its last three bytes, big-endian). */
export function nodeIdLow24(nodeId: Uint8Array): number {
  const n = nodeId.length;
  if (n < 3) throw new RangeError(`a Node-ID has at least 3 bytes, got ${n}`);
  return (nodeId[n - 3]! << 16) | (nodeId[n - 2]! << 8) | nodeId[n - 1]!;
}

/** index = (low 24 bits of the Node-ID << 8) | local (RFC 8076 §3.1). */
export function shareArrayIndex(nodeId: Uint8Array, local: number): number {
  if (!Number.isInteger(local) || local < 0 || local >= SHARE_SLOTS_PER_WRITER) {
    throw new RangeError(`the local index is 8 bits (0..255), got ${local}`);
  }
  return (nodeIdLow24(nodeId) * 256 + local) >>> 0;
}

/** The 8-bit local part of a ShaRe array index. */
export function localIndexOf(index: number): number {
  return index & 0xff;
}

/** Whether `index` lies in the 256-slot range of `nodeId`. */
export function isIndexOf(index: number, nodeId: Uint8Array): boolean {
  return index >>> 8 === nodeIdLow24(nodeId);
}

/** Byte equality of user names (RFC 8076 §6.3: "compared as binary objects"). */
export function sameUser(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}

