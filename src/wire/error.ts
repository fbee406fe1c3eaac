/**
 * ErrorResponse (RFC 6940 §6.3.3.1), carried in the body of message code 0xFFFF, and the
 * two structured error_info payloads (Error_Unknown_Kind, Error_Generation_Counter_Too_Low).
 */
import { type Codec, DecodeError, EncodeError, opaqueSize } from './codec.js';

export interface ErrorResponse {
  errorCode: number;
  /** Usually UTF-8 text; structured for some codes (see below). */
  errorInfo: Uint8Array;
}

const S = 'ErrorResponse';
export const errorResponse: Codec<ErrorResponse> = {
  name: S,
  size: (e) => 2 + opaqueSize(2, e.errorInfo, S, 'error_info'),
  encode(w, e) {
    w.u16(e.errorCode);
    w.opaque(2, e.errorInfo);
  },
  decode(r) {
    const at = r.pos;
    const errorCode = r.u16(S, 'error_code');
    if (errorCode === 0) throw new DecodeError(S, 'error_code', 'value', at, 'invalidErrorCode (0)');
    return { errorCode, errorInfo: r.opaque(2, S, 'error_info') };
  },
};

/** error_info of Error_Unknown_Kind: `KindId unknown_kinds<0..2^8-1>` (RFC 6940 §6.3.3.1). */
export const unknownKinds: Codec<number[]> = {
  name: 'UnknownKinds',
  size(kinds) {
    if (kinds.length * 4 > 255) throw new EncodeError('UnknownKinds', 'unknown_kinds', 'more than 63 kinds');
    return 1 + kinds.length * 4;
  },
  encode(w, kinds) {
    w.u8(kinds.length * 4);
    for (const k of kinds) w.u32(k);
  },
  decode(r) {
    const at = r.pos;
    const v = r.vector(1, 'UnknownKinds', 'unknown_kinds');
    if (v.left % 4 !== 0) throw new DecodeError('UnknownKinds', 'unknown_kinds', 'length', at, 'not a whole number of KindIds');
    const out: number[] = [];
    while (v.left > 0) out.push(v.u32('UnknownKinds', 'kind'));
    return out;
  },
};
