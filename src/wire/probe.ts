/** ProbeReq / ProbeAns (RFC 6940 §6.4.2). */
import { type Codec, DecodeError, EncodeError, vectorOf } from './codec.js';
import { ProbeInformationType } from './constants.js';

export interface ProbeReq {
  /** ProbeInformationType codes, 1 byte each. */
  requestedInfo: number[];
}

export type ProbeInformation =
  | { type: 'responsible_set'; responsiblePpb: number }
  | { type: 'num_resources'; numResources: number }
  | { type: 'uptime'; uptime: number }
  /** Unknown (or exp-probe) information, carried opaquely by its length. */
  | { type: 'unknown'; code: number; value: Uint8Array };

export interface ProbeAns {
  probeInfo: ProbeInformation[];
}

const SR = 'ProbeReq';
export const probeReq: Codec<ProbeReq> = {
  name: SR,
  size(p) {
    if (p.requestedInfo.length > 255) throw new EncodeError(SR, 'requested_info', 'more than 255 entries');
    return 1 + p.requestedInfo.length;
  },
  encode(w, p) {
    w.u8(p.requestedInfo.length);
    for (const t of p.requestedInfo) w.u8(t);
  },
  decode(r) {
    const v = r.vector(1, SR, 'requested_info');
    const requestedInfo: number[] = [];
    while (v.left > 0) {
      const at = v.pos;
      const t = v.u8(SR, 'requested_info');
      if (t === 0) throw new DecodeError(SR, 'requested_info', 'value', at, 'invalidProbeInformationType (0)');
      requestedInfo.push(t);
    }
    return { requestedInfo };
  },
};

const SI = 'ProbeInformation';
export const probeInformation: Codec<ProbeInformation> = {
  name: SI,
  size: (p) => (p.type === 'unknown' ? 2 + p.value.length : 6),
  encode(w, p) {
    switch (p.type) {
      case 'responsible_set':
        w.u8(ProbeInformationType.responsibleSet);
        w.u8(4);
        w.u32(p.responsiblePpb);
        return;
      case 'num_resources':
        w.u8(ProbeInformationType.numResources);
        w.u8(4);
        w.u32(p.numResources);
        return;
      case 'uptime':
        w.u8(ProbeInformationType.uptime);
        w.u8(4);
        w.u32(p.uptime);
        return;
      case 'unknown':
        if (p.value.length > 255) throw new EncodeError(SI, 'length', 'value exceeds 255 bytes');
        w.u8(p.code);
        w.opaque(1, p.value);
        return;
    }
  },
  decode(r) {
    const at = r.pos;
    const code = r.u8(SI, 'type');
    if (code === ProbeInformationType.invalid) {
      throw new DecodeError(SI, 'type', 'value', at, 'invalidProbeInformationType (0)');
    }
    const body = r.sub(r.u8(SI, 'length'), SI, 'value');
    const u32 = (field: string): number => {
      const v = body.u32(SI, field);
      body.done(SI);
      return v;
    };
    switch (code) {
      case ProbeInformationType.responsibleSet:
        return { type: 'responsible_set', responsiblePpb: u32('responsible_ppb') };
      case ProbeInformationType.numResources:
        return { type: 'num_resources', numResources: u32('num_resources') };
      case ProbeInformationType.uptime:
        return { type: 'uptime', uptime: u32('uptime') };
      default:
        return { type: 'unknown', code, value: body.bytes(body.left, SI, 'value') };
    }
  },
};

const probeInfoList = vectorOf('ProbeAns.probe_info', 2, probeInformation);
export const probeAns: Codec<ProbeAns> = {
  name: 'ProbeAns',
  size: (p) => probeInfoList.size(p.probeInfo),
  encode: (w, p) => probeInfoList.encode(w, p.probeInfo),
  decode: (r) => ({ probeInfo: probeInfoList.decode(r) }),
};
