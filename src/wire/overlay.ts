/**
 * The topology-facing bodies whose overlay-specific part is opaque at this layer
 * (RFC 6940 §6.4.2): JoinReq/JoinAns, LeaveReq, RouteQueryReq. The CHORD-RELOAD
 * contents of those opaque parts are in chord.ts.
 */
import { type Codec, DecodeError, EncodeError, opaqueSize } from './codec.js';
import { type Destination, destination } from './destination.js';

/** A fixed-length NodeId (no prefix on the wire). */
export function nodeIdCodec(nodeIdLength: number): Codec<Uint8Array> {
  return {
    name: 'NodeId',
    size(id) {
      if (id.length !== nodeIdLength) throw new EncodeError('NodeId', 'id', `must be ${nodeIdLength} bytes, got ${id.length}`);
      return nodeIdLength;
    },
    encode: (w, id) => w.bytes(id),
    decode: (r) => r.bytes(nodeIdLength, 'NodeId', 'id'),
  };
}

/** `NodeId list<0..2^16-1>`: a 2-byte byte count, then whole NodeIds. */
export function nodeIdListCodec(name: string, nodeIdLength: number): Codec<Uint8Array[]> {
  return {
    name,
    size(ids) {
      for (const id of ids) {
        if (id.length !== nodeIdLength) throw new EncodeError(name, 'node_id', `must be ${nodeIdLength} bytes, got ${id.length}`);
      }
      return 2 + ids.length * nodeIdLength;
    },
    encode(w, ids) {
      w.u16(ids.length * nodeIdLength);
      for (const id of ids) w.bytes(id);
    },
    decode(r) {
      const at = r.pos;
      const v = r.vector(2, name, 'length');
      if (v.left % nodeIdLength !== 0) {
        throw new DecodeError(name, 'length', 'length', at, `${v.left} bytes is not a whole number of ${nodeIdLength}-byte NodeIds`);
      }
      const out: Uint8Array[] = [];
      while (v.left > 0) out.push(v.bytes(nodeIdLength, name, 'node_id'));
      return out;
    },
  };
}

export interface JoinReq {
  joiningPeerId: Uint8Array;
  overlaySpecificData: Uint8Array;
}
export interface JoinAns {
  overlaySpecificData: Uint8Array;
}
export interface LeaveReq {
  leavingPeerId: Uint8Array;
  overlaySpecificData: Uint8Array;
}
export interface RouteQueryReq {
  sendUpdate: boolean;
  destination: Destination;
  overlaySpecificData: Uint8Array;
}

const cache = new Map<number, OverlayCodecs>();

export interface OverlayCodecs {
  joinReq: Codec<JoinReq>;
  joinAns: Codec<JoinAns>;
  leaveReq: Codec<LeaveReq>;
  routeQueryReq: Codec<RouteQueryReq>;
}

/** Codecs for the overlay bodies of an overlay with the given NodeIdLength. */
export function overlayCodecs(nodeIdLength: number): OverlayCodecs {
  let c = cache.get(nodeIdLength);
  if (c) return c;
  const nodeId = nodeIdCodec(nodeIdLength);
  c = {
    joinReq: {
      name: 'JoinReq',
      size: (j) => nodeId.size(j.joiningPeerId) + opaqueSize(2, j.overlaySpecificData, 'JoinReq', 'overlay_specific_data'),
      encode(w, j) {
        nodeId.encode(w, j.joiningPeerId);
        w.opaque(2, j.overlaySpecificData);
      },
      decode: (r) => ({
        joiningPeerId: r.bytes(nodeIdLength, 'JoinReq', 'joining_peer_id'),
        overlaySpecificData: r.opaque(2, 'JoinReq', 'overlay_specific_data'),
      }),
    },
    joinAns: {
      name: 'JoinAns',
      size: (j) => opaqueSize(2, j.overlaySpecificData, 'JoinAns', 'overlay_specific_data'),
      encode: (w, j) => w.opaque(2, j.overlaySpecificData),
      decode: (r) => ({ overlaySpecificData: r.opaque(2, 'JoinAns', 'overlay_specific_data') }),
    },
    leaveReq: {
      name: 'LeaveReq',
      size: (j) => nodeId.size(j.leavingPeerId) + opaqueSize(2, j.overlaySpecificData, 'LeaveReq', 'overlay_specific_data'),
      encode(w, j) {
        nodeId.encode(w, j.leavingPeerId);
        w.opaque(2, j.overlaySpecificData);
      },
      decode: (r) => ({
        leavingPeerId: r.bytes(nodeIdLength, 'LeaveReq', 'leaving_peer_id'),
        overlaySpecificData: r.opaque(2, 'LeaveReq', 'overlay_specific_data'),
      }),
    },
    routeQueryReq: {
      name: 'RouteQueryReq',
      size: (q) =>
        1 + destination.size(q.destination) + opaqueSize(2, q.overlaySpecificData, 'RouteQueryReq', 'overlay_specific_data'),
      encode(w, q) {
        w.bool(q.sendUpdate);
        destination.encode(w, q.destination);
        w.opaque(2, q.overlaySpecificData);
      },
      decode: (r) => ({
        sendUpdate: r.bool('RouteQueryReq', 'send_update'),
        destination: destination.decode(r),
        overlaySpecificData: r.opaque(2, 'RouteQueryReq', 'overlay_specific_data'),
      }),
    },
  };
  cache.set(nodeIdLength, c);
  return c;
}
