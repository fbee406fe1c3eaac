/**
 * IpAddressPort (RFC 6940 §6.5.1.1), ICE candidates, AttachReqAns (§6.5.1.1) and
 * AppAttachReq/Ans (§6.5.2).
 */
import { type Codec, DecodeError, EncodeError, Reader, Writer, opaqueSize, vectorOf } from './codec.js';
import { AddressType, CandType } from './constants.js';

export type IpAddressPort =
  | { family: 'ipv4'; address: string; port: number }
  | { family: 'ipv6'; address: string; port: number }
  /** An address type this node does not know, skipped by its length. */
  | { family: 'unknown'; type: number; value: Uint8Array };

const SA = 'IpAddressPort';

function parseIPv4(s: string): Uint8Array {
  const parts = s.split('.');
  if (parts.length !== 4) throw new EncodeError(SA, 'v4addr', `not an IPv4 address: ${s}`);
  const out = new Uint8Array(4);
  parts.forEach((p, i) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new EncodeError(SA, 'v4addr', `not an IPv4 address: ${s}`);
    out[i] = Number(p);
  });
  return out;
}

function parseIPv6(s: string): Uint8Array {
  let text = s;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:192.0.2.1).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: Uint8Array | undefined;
  if (v4) {
    tail = parseIPv4(v4[1]!);
    const b = tail;
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new EncodeError(SA, 'v6addr', `not an IPv6 address: ${s}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8 || (halves.length === 2 && head.length + rest.length > 7)) {
    throw new EncodeError(SA, 'v6addr', `not an IPv6 address: ${s}`);
  }
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new EncodeError(SA, 'v6addr', `not an IPv6 address: ${s}`);
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** RFC 5952 text form of a 16-byte IPv6 address. */
export function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export const ipAddressPort: Codec<IpAddressPort> = {
  name: SA,
  size(a) {
    switch (a.family) {
      case 'ipv4':
        return 8;
      case 'ipv6':
        return 20;
      case 'unknown':
        return 2 + a.value.length;
    }
  },
  encode(w, a) {
    switch (a.family) {
      case 'ipv4':
        w.u8(AddressType.ipv4);
        w.u8(6);
        w.bytes(parseIPv4(a.address));
        w.u16(a.port);
        return;
      case 'ipv6':
        w.u8(AddressType.ipv6);
        w.u8(18);
        w.bytes(parseIPv6(a.address));
        w.u16(a.port);
        return;
      case 'unknown':
        if (a.value.length > 255) throw new EncodeError(SA, 'length', 'address exceeds 255 bytes');
        w.u8(a.type);
        w.opaque(1, a.value);
        return;
    }
  },
  decode(r) {
    const at = r.pos;
    const type = r.u8(SA, 'type');
    if (type === AddressType.invalid) throw new DecodeError(SA, 'type', 'value', at, 'invalidAddressType (0)');
    const body = r.sub(r.u8(SA, 'length'), SA, 'address');
    switch (type) {
      case AddressType.ipv4: {
        const a = body.bytes(4, SA, 'v4addr');
        const port = body.u16(SA, 'port');
        body.done(SA);
        return { family: 'ipv4', address: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port };
      }
      case AddressType.ipv6: {
        const a = body.bytes(16, SA, 'v6addr');
        const port = body.u16(SA, 'port');
        body.done(SA);
        return { family: 'ipv6', address: formatIPv6(a), port };
      }
      default:
        // RFC 6940 §6.5.1.1: unknown address types can be skipped using the length.
        return { family: 'unknown', type, value: body.bytes(body.left, SA, 'address') };
    }
  },
};

export interface IceExtension {
  name: Uint8Array;
  value: Uint8Array;
}

const SX = 'IceExtension';
export const iceExtension: Codec<IceExtension> = {
  name: SX,
  size: (e) => opaqueSize(2, e.name, SX, 'name') + opaqueSize(2, e.value, SX, 'value'),
  encode(w, e) {
    w.opaque(2, e.name);
    w.opaque(2, e.value);
  },
  decode(r) {
    return { name: r.opaque(2, SX, 'name'), value: r.opaque(2, SX, 'value') };
  },
};

const iceExtensionList = vectorOf('IceCandidate.extensions', 2, iceExtension);

export interface IceCandidate {
  addrPort: IpAddressPort;
  /** OverlayLinkType: 1 DTLS-UDP-SR, 3 DTLS-UDP-SR-NO-ICE, 4 TLS-TCP-FH-NO-ICE. */
  overlayLink: number;
  foundation: Uint8Array;
  priority: number;
  /** CandType: 1 host, 2 srflx, 4 relay (3 reserved). */
  candType: number;
  /** Present for srflx and relay. */
  relAddrPort?: IpAddressPort;
  extensions: IceExtension[];
}

const SC = 'IceCandidate';
export const iceCandidate: Codec<IceCandidate> = {
  name: SC,
  size(c) {
    let n = ipAddressPort.size(c.addrPort) + 1 + opaqueSize(1, c.foundation, SC, 'foundation') + 4 + 1;
    if (c.candType === CandType.srflx || c.candType === CandType.relay) {
      if (!c.relAddrPort) throw new EncodeError(SC, 'rel_addr_port', 'srflx/relay candidates need rel_addr_port');
      n += ipAddressPort.size(c.relAddrPort);
    }
    return n + iceExtensionList.size(c.extensions);
  },
  encode(w, c) {
    ipAddressPort.encode(w, c.addrPort);
    w.u8(c.overlayLink);
    w.opaque(1, c.foundation);
    w.u32(c.priority);
    w.u8(c.candType);
    if (c.candType === CandType.srflx || c.candType === CandType.relay) ipAddressPort.encode(w, c.relAddrPort!);
    iceExtensionList.encode(w, c.extensions);
  },
  decode(r) {
    const addrPort = ipAddressPort.decode(r);
    const linkAt = r.pos;
    const overlayLink = r.u8(SC, 'overlay_link');
    if (overlayLink === 0) throw new DecodeError(SC, 'overlay_link', 'value', linkAt, 'invalidOverlayLinkType (0)');
    const foundation = r.opaque(1, SC, 'foundation');
    const priority = r.u32(SC, 'priority');
    const typeAt = r.pos;
    const candType = r.u8(SC, 'type');
    let relAddrPort: IpAddressPort | undefined;
    switch (candType) {
      case CandType.host:
        break;
      case CandType.srflx:
      case CandType.relay:
        relAddrPort = ipAddressPort.decode(r);
        break;
      default:
        // The select has no length: an unknown CandType cannot be skipped (RFC 6940 §6.3.1).
        throw new DecodeError(SC, 'type', 'value', typeAt, `unknown CandType ${candType}`);
    }
    const extensions = iceExtensionList.decode(r);
    const c: IceCandidate = { addrPort, overlayLink, foundation, priority, candType, extensions };
    if (relAddrPort) c.relAddrPort = relAddrPort;
    return c;
  },
};

const candidateList = vectorOf('candidates', 2, iceCandidate);

/** AttachReq and AttachAns share this body (RFC 6940 §6.5.1.1). */
export interface AttachReqAns {
  ufrag: Uint8Array;
  password: Uint8Array;
  /** "passive" in the request, "active" in the answer. */
  role: Uint8Array;
  candidates: IceCandidate[];
  sendUpdate: boolean;
}

const SAT = 'AttachReqAns';
export const attachReqAns: Codec<AttachReqAns> = {
  name: SAT,
  size: (a) =>
    opaqueSize(1, a.ufrag, SAT, 'ufrag') +
    opaqueSize(1, a.password, SAT, 'password') +
    opaqueSize(1, a.role, SAT, 'role') +
    candidateList.size(a.candidates) +
    1,
  encode(w, a) {
    w.opaque(1, a.ufrag);
    w.opaque(1, a.password);
    w.opaque(1, a.role);
    candidateList.encode(w, a.candidates);
    w.bool(a.sendUpdate);
  },
  decode(r) {
    const ufrag = r.opaque(1, SAT, 'ufrag');
    const password = r.opaque(1, SAT, 'password');
    const role = r.opaque(1, SAT, 'role');
    const candidates = candidateList.decode(r);
    return { ufrag, password, role, candidates, sendUpdate: r.bool(SAT, 'send_update') };
  },
};

/** AppAttachReq and AppAttachAns share this body (RFC 6940 §6.5.2). */
export interface AppAttachReqAns {
  ufrag: Uint8Array;
  password: Uint8Array;
  /** Application-ID: 5060 SIP, 5061 SIPS. */
  application: number;
  role: Uint8Array;
  candidates: IceCandidate[];
}

const SAA = 'AppAttachReqAns';
export const appAttachReqAns: Codec<AppAttachReqAns> = {
  name: SAA,
  size: (a) =>
    opaqueSize(1, a.ufrag, SAA, 'ufrag') +
    opaqueSize(1, a.password, SAA, 'password') +
    2 +
    opaqueSize(1, a.role, SAA, 'role') +
    candidateList.size(a.candidates),
  encode(w: Writer, a) {
    w.opaque(1, a.ufrag);
    w.opaque(1, a.password);
    w.u16(a.application);
    w.opaque(1, a.role);
    candidateList.encode(w, a.candidates);
  },
  decode(r: Reader) {
    const ufrag = r.opaque(1, SAA, 'ufrag');
    const password = r.opaque(1, SAA, 'password');
    const application = r.u16(SAA, 'application');
    const role = r.opaque(1, SAA, 'role');
    return { ufrag, password, application, role, candidates: candidateList.decode(r) };
  },
};
