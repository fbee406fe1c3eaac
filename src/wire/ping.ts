/** PingReq / PingAns (RFC 6940 §6.5.3). */
import { type Codec, opaqueSize } from './codec.js';

export interface PingReq {
  /** Up to 65535 bytes, for path-MTU probing; usually empty. */
  padding: Uint8Array;
}

export interface PingAns {
  responseId: bigint;
  /** Milliseconds since 1970-01-01 UTC. */
  time: bigint;
}

export const pingReq: Codec<PingReq> = {
  name: 'PingReq',
  size: (p) => opaqueSize(2, p.padding, 'PingReq', 'padding'),
  encode: (w, p) => w.opaque(2, p.padding),
  decode: (r) => ({ padding: r.opaque(2, 'PingReq', 'padding') }),
};

export const pingAns: Codec<PingAns> = {
  name: 'PingAns',
  size: () => 16,
  encode(w, p) {
    w.u64(p.responseId);
    w.u64(p.time);
  },
  decode: (r) => ({ responseId: r.u64('PingAns', 'response_id'), time: r.u64('PingAns', 'time') }),
};
