/**
 * CHORD-RELOAD bodies (RFC 6940 §9.7): ChordUpdate (the UpdateReq body), the
 * RouteQueryAns body, and ChordLeaveData (inside LeaveReq.overlay_specific_data).
 * CHORD's UpdateAns body is empty.
 */
import { type Codec, DecodeError, EncodeError, Reader } from './codec.js';
import { ChordLeaveType, ChordUpdateType } from './constants.js';
import { nodeIdListCodec } from './overlay.js';

export type ChordUpdate =
  | { uptime: number; type: 'peer_ready' }
  | { uptime: number; type: 'neighbors'; predecessors: Uint8Array[]; successors: Uint8Array[] }
  | { uptime: number; type: 'full'; predecessors: Uint8Array[]; successors: Uint8Array[]; fingers: Uint8Array[] };

export interface ChordRouteQueryAns {
  nextPeer: Uint8Array;
}

export type ChordLeaveData =
  /** The leaving peer is the recipient's successor: carries its successor list. */
  | { type: 'from_succ'; successors: Uint8Array[] }
  /** The leaving peer is the recipient's predecessor: carries its predecessor list. */
  | { type: 'from_pred'; predecessors: Uint8Array[] };

export interface ChordCodecs {
  update: Codec<ChordUpdate>;
  routeQueryAns: Codec<ChordRouteQueryAns>;
  leaveData: Codec<ChordLeaveData>;
}

const cache = new Map<number, ChordCodecs>();

export function chordCodecs(nodeIdLength: number): ChordCodecs {
  let c = cache.get(nodeIdLength);
  if (c) return c;
  const preds = nodeIdListCodec('ChordUpdate.predecessors', nodeIdLength);
  const succs = nodeIdListCodec('ChordUpdate.successors', nodeIdLength);
  const fingers = nodeIdListCodec('ChordUpdate.fingers', nodeIdLength);
  const leaveSuccs = nodeIdListCodec('ChordLeaveData.successors', nodeIdLength);
  const leavePreds = nodeIdListCodec('ChordLeaveData.predecessors', nodeIdLength);
  const S = 'ChordUpdate';
  c = {
    update: {
      name: S,
      size(u) {
        let n = 5;
        if (u.type !== 'peer_ready') n += preds.size(u.predecessors) + succs.size(u.successors);
        if (u.type === 'full') n += fingers.size(u.fingers);
        return n;
      },
      encode(w, u) {
        w.u32(u.uptime);
        switch (u.type) {
          case 'peer_ready':
            w.u8(ChordUpdateType.peerReady);
            return;
          case 'neighbors':
            w.u8(ChordUpdateType.neighbors);
            preds.encode(w, u.predecessors);
            succs.encode(w, u.successors);
            return;
          case 'full':
            w.u8(ChordUpdateType.full);
            preds.encode(w, u.predecessors);
            succs.encode(w, u.successors);
            fingers.encode(w, u.fingers);
            return;
        }
      },
      decode(r: Reader): ChordUpdate {
        const uptime = r.u32(S, 'uptime');
        const at = r.pos;
        const type = r.u8(S, 'type');
        switch (type) {
          case ChordUpdateType.peerReady:
            return { uptime, type: 'peer_ready' };
          case ChordUpdateType.neighbors:
            return { uptime, type: 'neighbors', predecessors: preds.decode(r), successors: succs.decode(r) };
          case ChordUpdateType.full:
            return {
              uptime,
              type: 'full',
              predecessors: preds.decode(r),
              successors: succs.decode(r),
              fingers: fingers.decode(r),
            };
          default:
            throw new DecodeError(S, 'type', 'value', at, `unknown ChordUpdateType ${type}`);
        }
      },
    },
    routeQueryAns: {
      name: 'ChordRouteQueryAns',
      size: () => nodeIdLength,
      encode(w, a) {
        if (a.nextPeer.length !== nodeIdLength) throw new EncodeError('ChordRouteQueryAns', 'next_peer', `must be ${nodeIdLength} bytes`);
        w.bytes(a.nextPeer);
      },
      decode: (r) => ({ nextPeer: r.bytes(nodeIdLength, 'ChordRouteQueryAns', 'next_peer') }),
    },
    leaveData: {
      name: 'ChordLeaveData',
      size: (l) => 1 + (l.type === 'from_succ' ? leaveSuccs.size(l.successors) : leavePreds.size(l.predecessors)),
      encode(w, l) {
        if (l.type === 'from_succ') {
          w.u8(ChordLeaveType.fromSucc);
          leaveSuccs.encode(w, l.successors);
        } else {
          w.u8(ChordLeaveType.fromPred);
          leavePreds.encode(w, l.predecessors);
        }
      },
      decode(r) {
        const at = r.pos;
        const type = r.u8('ChordLeaveData', 'type');
        switch (type) {
          case ChordLeaveType.fromSucc:
            return { type: 'from_succ', successors: leaveSuccs.decode(r) };
          case ChordLeaveType.fromPred:
            return { type: 'from_pred', predecessors: leavePreds.decode(r) };
          default:
            throw new DecodeError('ChordLeaveData', 'type', 'value', at, `unknown ChordLeaveType ${type}`);
        }
      },
    },
  };
  cache.set(nodeIdLength, c);
  return c;
}
