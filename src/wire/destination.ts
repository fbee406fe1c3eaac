/**
 * Destination, the entries of Via Lists and Destination Lists (RFC 6940 §6.3.2.2).
 *
 *   long form:  DestinationType type; uint8 length; DestinationData data;   (first byte < 0x80)
 *   short form: uint16 opaque_id with the top bit set (a compressed id)
 *
 * For `resource` and `opaque_id_type` the data itself is a 1-byte length-prefixed vector,
 * so the outer length counts that inner byte too.
 */
import { type Codec, DecodeError, EncodeError, Reader, Writer } from './codec.js';
import { DestinationType } from './constants.js';

export type Destination =
  | { type: 'node'; id: Uint8Array }
  | { type: 'resource'; id: Uint8Array }
  | { type: 'opaque'; id: Uint8Array }
  | { type: 'compressed'; id: number };

/** NodeIdLength is 16..20 bytes (RFC 6940 §11.1 node-id-length). */
export const MIN_NODE_ID_LENGTH = 16;
export const MAX_NODE_ID_LENGTH = 20;

const S = 'Destination';

export const destination: Codec<Destination> = {
  name: S,
  size(d) {
    switch (d.type) {
      case 'node':
        return 2 + d.id.length;
      case 'resource':
      case 'opaque':
        return 3 + d.id.length;
      case 'compressed':
        return 2;
    }
  },
  encode(w: Writer, d) {
    switch (d.type) {
      case 'node':
        if (d.id.length < MIN_NODE_ID_LENGTH || d.id.length > MAX_NODE_ID_LENGTH) {
          throw new EncodeError(S, 'node_id', `NodeId must be 16..20 bytes, got ${d.id.length}`);
        }
        w.u8(DestinationType.node);
        w.u8(d.id.length);
        w.bytes(d.id);
        return;
      case 'resource':
      case 'opaque':
        if (d.id.length > 254) throw new EncodeError(S, 'id', `id of ${d.id.length} bytes exceeds 254`);
        w.u8(d.type === 'resource' ? DestinationType.resource : DestinationType.opaqueId);
        w.u8(d.id.length + 1);
        w.opaque(1, d.id);
        return;
      case 'compressed':
        if (d.id < 0x8000 || d.id > 0xffff) {
          throw new EncodeError(S, 'opaque_id', `compressed id must have its top bit set, got 0x${d.id.toString(16)}`);
        }
        w.u16(d.id);
        return;
    }
  },
  decode(r: Reader): Destination {
    const at = r.pos;
    const first = r.u8(S, 'type');
    if (first & 0x80) {
      const second = r.u8(S, 'opaque_id');
      return { type: 'compressed', id: (first << 8) | second };
    }
    // An unknown type cannot be skipped safely (RFC 6940 §6.3.1): reject it before its length.
    if (first !== DestinationType.node && first !== DestinationType.resource && first !== DestinationType.opaqueId) {
      throw new DecodeError(S, 'type', 'value', at, `unknown DestinationType ${first}`);
    }
    const length = r.u8(S, 'length');
    const data = r.sub(length, S, 'destination_data');
    if (first === DestinationType.node) {
      if (length < MIN_NODE_ID_LENGTH || length > MAX_NODE_ID_LENGTH) {
        throw new DecodeError(S, 'node_id', 'length', at + 1, `NodeId length ${length} is not 16..20`);
      }
      return { type: 'node', id: data.bytes(length, S, 'node_id') };
    }
    // resource and opaque_id_type: the data is itself a 1-byte length-prefixed vector.
    const field = first === DestinationType.resource ? 'resource_id' : 'opaque_id';
    const id = data.opaque(1, S, field);
    data.done(`${S}.${field}`);
    return { type: first === DestinationType.resource ? 'resource' : 'opaque', id };
  },
};

/**
 * A Via List or Destination List: concatenated Destinations whose byte count lives in the
 * forwarding header, not in a prefix.
 */
export function destinationListSize(list: readonly Destination[]): number {
  let n = 0;
  for (const d of list) n += destination.size(d);
  return n;
}

export function encodeDestinationList(w: Writer, list: readonly Destination[]): void {
  for (const d of list) destination.encode(w, d);
}

export function decodeDestinationList(r: Reader): Destination[] {
  const out: Destination[] = [];
  while (r.left > 0) out.push(destination.decode(r));
  return out;
}

export function nodeDestination(id: Uint8Array): Destination {
  return { type: 'node', id };
}

export function resourceDestination(id: Uint8Array): Destination {
  return { type: 'resource', id };
}

export function destinationsEqual(a: Destination, b: Destination): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'compressed') return a.id === (b as { id: number }).id;
  const x = a.id;
  const y = (b as { id: Uint8Array }).id;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
